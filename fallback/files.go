package fallback

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
)

// backupLayout is the timestamp in backup names: ntp.conf.backup.YYYYmmddTHHMMSS
// (UTC, so names sort in time order across DST changes).
const backupLayout = "20060102T150405"

// DefaultKeepBackups is how many backups of each file are kept (the newest).
const DefaultKeepBackups = 5

// ErrConflict is returned by Apply when a file changed between Plan and
// Apply; nothing is written then. Plan again.
var ErrConflict = errors.New("configuration changed since the plan was made")

// FileChange is one file a Change writes, creates or removes.
type FileChange struct {
	// Path is the file as the daemon sees it (/etc/ntpsec/ntp.conf).
	Path string
	// Old is the content when the plan was made; nil with Existed false
	// when the file did not exist.
	Old     []byte
	Existed bool
	// New is the content to write; Remove means delete the file instead.
	New    []byte
	Remove bool
}

// Diff is the unified diff of this change (a/ and b/ prefixed paths, as
// git shows them), "" when nothing changes.
func (fc FileChange) Diff() string {
	oldName, newName := "a"+fc.Path, "b"+fc.Path
	if !fc.Existed {
		oldName = "/dev/null"
	}
	if fc.Remove {
		newName = "/dev/null"
	}
	return UnifiedDiff(oldName, newName, fc.Old, fc.New)
}

// readCurrent returns a file's content and whether it exists.
func readCurrent(root, p string) ([]byte, bool, error) {
	b, err := os.ReadFile(hostPath(root, p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	return b, true, nil
}

// checkUnchanged returns ErrConflict if a file no longer holds what the
// plan was computed from.
func checkUnchanged(root string, fc FileChange) error {
	cur, exists, err := readCurrent(root, fc.Path)
	if err != nil {
		return err
	}
	if exists != fc.Existed || !bytes.Equal(cur, fc.Old) {
		return fmt.Errorf("%s: %w", fc.Path, ErrConflict)
	}
	return nil
}

// writeAtomic replaces p with data: a temporary file in the same directory
// is written, fsynced, given the old file's mode and owner, and renamed
// over p (github.com/google/renameio/v2), so a reader sees the old or the
// new file, never a partial one.
func writeAtomic(root, p string, data []byte, mode os.FileMode) error {
	hp := hostPath(root, p)
	var uid, gid = -1, -1
	if fi, err := os.Stat(hp); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	pf, err := renameio.NewPendingFile(hp, renameio.WithTempDir(filepath.Dir(hp)), renameio.WithStaticPermissions(mode))
	if err != nil {
		return explainWriteError(p, err)
	}
	defer pf.Cleanup() //nolint:errcheck // after a successful replace this is a no-op
	if _, err := pf.Write(data); err != nil {
		return explainWriteError(p, err)
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := pf.Chown(uid, gid); err != nil {
			return explainWriteError(p, err)
		}
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return explainWriteError(p, err)
	}
	return nil
}

// explainWriteError turns the usual write failures into a message an
// operator can act on.
func explainWriteError(p string, err error) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("cannot write %s: the file system is read-only: %w", p, err)
	case errors.Is(err, syscall.EPERM):
		return fmt.Errorf("cannot write %s: operation not permitted (is the file or its directory immutable, chattr +i?): %w", p, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot write %s: permission denied (run as root?): %w", p, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("cannot write %s: no space left on the device: %w", p, err)
	}
	return fmt.Errorf("cannot write %s: %w", p, err)
}

// backupFile copies p to p.backup.<UTC timestamp> (adding -2, -3 ... when a
// backup of that second already exists with other content), keeps the
// newest keep backups of p and returns the backup's host path.
func backupFile(root, p string, data []byte, now time.Time, keep int) (string, error) {
	hp := hostPath(root, p)
	fi, err := os.Stat(hp)
	if err != nil {
		return "", fmt.Errorf("back up %s: %w", p, err)
	}
	base := hp + ".backup." + now.UTC().Format(backupLayout)
	name := base
	for n := 2; ; n++ {
		old, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err == nil && bytes.Equal(old, data) {
			return name, pruneBackups(hp, keep) // the same content was backed up this second
		}
		if n > 100 {
			return "", fmt.Errorf("back up %s: too many backups for %s", p, base)
		}
		name = fmt.Sprintf("%s-%d", base, n)
	}
	if err := writeAtomic("", name, data, fi.Mode().Perm()); err != nil {
		return "", fmt.Errorf("back up %s: %w", p, err)
	}
	return name, pruneBackups(hp, keep)
}

// Backups lists the backups of the file at host path hp, newest first.
func Backups(hp string) ([]string, error) {
	dir, prefix := filepath.Dir(hp), filepath.Base(hp)+".backup."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || e.IsDir() {
			continue
		}
		stamp := strings.TrimPrefix(n, prefix)
		if len(stamp) < len(backupLayout) {
			continue
		}
		if _, err := time.Parse(backupLayout, stamp[:len(backupLayout)]); err != nil {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	sort.Slice(out, func(i, j int) bool { return backupKey(out[i]) > backupKey(out[j]) })
	return out, nil
}

// backupKey orders backups of one file by time, then by -N suffix.
func backupKey(p string) string {
	i := strings.LastIndex(p, ".backup.")
	stamp := p[i+len(".backup."):]
	suffix := 0
	if j := strings.IndexByte(stamp, '-'); j >= 0 {
		fmt.Sscanf(stamp[j+1:], "%d", &suffix)
		stamp = stamp[:j]
	}
	return fmt.Sprintf("%s-%06d", stamp, suffix)
}

// pruneBackups removes all but the newest keep backups of hp.
func pruneBackups(hp string, keep int) error {
	if keep <= 0 {
		keep = DefaultKeepBackups
	}
	all, err := Backups(hp)
	if err != nil {
		return fmt.Errorf("list backups of %s: %w", hp, err)
	}
	for _, old := range all[min(keep, len(all)):] {
		if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove old backup: %w", err)
		}
	}
	return nil
}
