package fallback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
)

// Daemon names Detect returns.
const (
	DaemonNTPD      = "ntpd"
	DaemonTimesyncd = "timesyncd"
)

// How a daemon was detected.
const (
	ViaSystemd = "systemd unit state over D-Bus"
	ViaProc    = "running processes (/proc)"
)

// ErrNoDaemon is returned when neither ntpd/NTPsec nor systemd-timesyncd
// is active. The agent checks chronyd before calling Detect.
var ErrNoDaemon = errors.New("no ntpd, NTPsec or systemd-timesyncd is running; install chrony (Debian/Ubuntu: apt-get install chrony; RHEL/Fedora: dnf install chrony) and run ntp-optimizer again")

// Detection says which fallback daemon is active and how that was found.
type Detection struct {
	Daemon string // DaemonNTPD or DaemonTimesyncd
	Unit   string // the systemd unit ("ntpsec.service" ...), "" from /proc
	Via    string // ViaSystemd or ViaProc
	Detail string // e.g. "ntpsec.service is active" or "pid 812 /usr/sbin/ntpd"
}

// String is the line `ntp-optimizer status` prints.
func (d Detection) String() string {
	return fmt.Sprintf("%s (detected from %s: %s)", d.Daemon, d.Via, d.Detail)
}

// Units Detect asks systemd about, in order: ntpd first, then timesyncd.
var (
	ntpdUnits      = []string{"ntpsec.service", "ntp.service", "ntpd.service"}
	timesyncdUnits = []string{"systemd-timesyncd.service"}
)

// Detector finds the active fallback daemon.
type Detector struct {
	// Root is the directory /proc and /run are taken under ("" for /).
	Root string
	// Units answers unit states; used when systemd runs (systemd.Running).
	Units ServiceManager
}

// Detect returns the active daemon: ntpd/NTPsec before systemd-timesyncd,
// from systemd's unit states where systemd runs and Units is set, else
// from the running processes. ErrNoDaemon when none is active.
func (d Detector) Detect(ctx context.Context) (*Detection, error) {
	if d.Units != nil && systemd.Running(d.Root) {
		return d.fromSystemd(ctx)
	}
	return d.fromProc()
}

func (d Detector) fromSystemd(ctx context.Context) (*Detection, error) {
	for _, group := range []struct {
		daemon string
		units  []string
	}{{DaemonNTPD, ntpdUnits}, {DaemonTimesyncd, timesyncdUnits}} {
		for _, u := range group.units {
			st, err := d.Units.ActiveState(ctx, u)
			if err != nil {
				return nil, fmt.Errorf("detect the NTP daemon: %w", err)
			}
			if st == "active" || st == "activating" || st == "reloading" {
				return &Detection{Daemon: group.daemon, Unit: u, Via: ViaSystemd, Detail: u + " is " + st}, nil
			}
		}
	}
	return nil, fmt.Errorf("%w (systemd: none of %s is active)", ErrNoDaemon, strings.Join(append(ntpdUnits, timesyncdUnits...), ", "))
}

// fromProc scans /proc/<pid>/cmdline for ntpd and systemd-timesyncd (the
// command name in /proc/<pid>/comm is cut to 15 characters, too short for
// "systemd-timesyncd").
func (d Detector) fromProc() (*Detection, error) {
	procDir := hostPath(d.Root, "/proc")
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("detect the NTP daemon: %w", err)
	}
	var timesyncd *Detection
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline"))
		if err != nil || len(cmd) == 0 {
			continue // a kernel thread, or gone
		}
		argv0 := string(bytes.SplitN(cmd, []byte{0}, 2)[0])
		switch filepath.Base(argv0) {
		case "ntpd":
			return &Detection{Daemon: DaemonNTPD, Via: ViaProc, Detail: fmt.Sprintf("pid %d %s", pid, argv0)}, nil
		case "systemd-timesyncd":
			if timesyncd == nil {
				timesyncd = &Detection{Daemon: DaemonTimesyncd, Via: ViaProc, Detail: fmt.Sprintf("pid %d %s", pid, argv0)}
			}
		}
	}
	if timesyncd != nil {
		return timesyncd, nil
	}
	return nil, fmt.Errorf("%w (no ntpd or systemd-timesyncd process in %s)", ErrNoDaemon, procDir)
}
