package schedule

import (
	"fmt"
	"os"
	"path/filepath"
)

// Paths on the machine that decide what the hardened service must write.
const (
	ntpsecConf       = "/etc/ntpsec/ntp.conf"
	classicNTPConf   = "/etc/ntp.conf"
	timesyncdDropDir = "/etc/systemd/timesyncd.conf.d"
)

// timesyncdBinaries are where distributions put systemd-timesyncd.
var timesyncdBinaries = []string{"/lib/systemd/systemd-timesyncd", "/usr/lib/systemd/systemd-timesyncd"}

// Preparation is what PrepareMachine found and did.
type Preparation struct {
	// WritablePaths are paths to add to DefaultWritablePaths.
	WritablePaths []string
	// Notes explain each addition and each directory created, for the
	// operator.
	Notes []string
}

// PrepareMachine adapts the service's sandbox to this machine's NTP
// daemons. Under ProtectSystem=strict a directory can only be made
// writable if it exists when the service starts, and a file is replaced
// atomically only if its directory is writable. So: the timesyncd drop-in
// directory is created when systemd-timesyncd is installed; and when ntpd
// reads /etc/ntp.conf (classic ntpd, no ntpsec), /etc itself must be
// writable for the atomic rename and the backup beside the file. root
// prefixes every path ("" for this machine; a directory in tests).
func PrepareMachine(root string) (Preparation, error) {
	var p Preparation
	at := func(path string) string { return filepath.Join(root, path) }
	if anyExists(at, timesyncdBinaries...) && !exists(at(timesyncdDropDir)) {
		if err := os.MkdirAll(at(timesyncdDropDir), 0o755); err != nil {
			return p, fmt.Errorf("creating %s for the timesyncd backend: %w", timesyncdDropDir, err)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("created %s: the sandboxed service may only write directories that exist", timesyncdDropDir))
	}
	if exists(at(classicNTPConf)) && !exists(at(ntpsecConf)) {
		p.WritablePaths = append(p.WritablePaths, "/etc")
		p.Notes = append(p.Notes, fmt.Sprintf("ntpd reads %s: the service may write /etc, to replace it atomically and keep backups beside it", classicNTPConf))
	}
	return p, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func anyExists(at func(string) string, paths ...string) bool {
	for _, p := range paths {
		if exists(at(p)) {
			return true
		}
	}
	return false
}
