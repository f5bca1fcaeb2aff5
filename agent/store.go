package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// DefaultStateDir is where the agent keeps its state unless told otherwise.
const DefaultStateDir = "/var/lib/ntp-optimizer"

// ErrUnsafe is wrapped by the errors of a state or lock path the agent
// refuses to use: a directory others can write (group or world writable,
// or owned by a user other than root and this process's), or a symbolic
// link, hard link or special file where a state file should be.
var ErrUnsafe = errors.New("unsafe state path")

// State file names inside the state directory.
const (
	stateFile    = "state.json"         // hysteresis counters, blacklist, managed sources
	decisionFile = "last-decision.json" // the last run's decision document
	historyDir   = "history"            // one JSON file per run
	lockFile     = "lock"               // flock(2) target, holds the owner's pid
)

// Store reads and writes the agent's state directory. Every write is atomic
// (temp file, fsync, rename); a file that fails to parse is moved aside with
// a warning and treated as absent, never silently overwritten.
//
// The directory is created 0750 (owned by the user running the agent,
// root for the service); one that others can write is refused, and no
// file in it is opened through a symbolic link.
type Store struct {
	Dir string
	// LockDir is where the run lock is taken besides Dir (see Lock):
	// a runtime directory such as DefaultLockDir, usable when the state
	// directory is not. "" means DefaultLockDir for DefaultStateDir and
	// none for any other state directory.
	LockDir string
	Logger  zerolog.Logger
	Clock   clock.Clock // nil is the system clock
}

func (s *Store) clock() clock.Clock { return clock.Or(s.Clock) }

func (s *Store) now() time.Time { return s.clock().Now() }

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name) }

// ensureDir creates the state directory (0750) if it is missing, and its
// subdirectory sub ("" for none) in it, refusing either when others can
// write it and sub when it is a symbolic link.
func (s *Store) ensureDir(sub string) error {
	if err := makeDir(s.Dir, "state directory"); err != nil {
		return err
	}
	if sub == "" || sub == "." {
		return nil
	}
	dir := filepath.Join(s.Dir, sub)
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("state directory %s: %w", dir, err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	return checkDir(dir, "state directory", fi)
}

// subdirOK says whether the state directory's subdirectory sub may be used
// as it is (nil also when it does not exist).
func (s *Store) subdirOK(sub string) error {
	if err := s.dirOK(); err != nil {
		return err
	}
	dir := filepath.Join(s.Dir, sub)
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	return checkDir(dir, "state directory", fi)
}

// dirOK says whether the state directory may be read: nil when it is safe
// or does not exist.
func (s *Store) dirOK() error {
	fi, err := os.Stat(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state directory %s: %w", s.Dir, err)
	}
	return checkDir(s.Dir, "state directory", fi)
}

// makeDir creates dir (0750, and its parents) if it is missing and checks
// that only its owner can write it. dir itself may be a symbolic link
// (the operator's choice of where the state lives); what it points to is
// checked.
func makeDir(dir, what string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	return checkDir(dir, what, fi)
}

// checkDir refuses a directory (as fi describes it, from Lstat or Stat)
// that is not one, that its group or everyone can write, or that belongs
// to a user other than root and this process's: whoever can write it can
// plant files or links the agent would read or write as root.
func checkDir(dir, what string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s %s is a symbolic link: not following it (remove it)", ErrUnsafe, what, dir)
	case !fi.IsDir():
		return fmt.Errorf("%s %s is not a directory", what, dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		who := "its group"
		if perm&0o002 != 0 {
			who = "everyone"
		}
		return fmt.Errorf("%w: %s %s is writable by %s (mode %04o): refusing to use it (chmod 0750 %s)",
			ErrUnsafe, what, dir, who, uint32(perm), dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s %s is owned by uid %d, neither root nor this process's user (uid %d): refusing to use it (chown %d %s)",
			ErrUnsafe, what, dir, st.Uid, os.Geteuid(), os.Geteuid(), dir)
	}
	return nil
}

// openNoFollow opens the file p, never through a symbolic link (and
// without blocking on a FIFO planted in its place).
func openNoFollow(p string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(p, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symbolic link: not following it (remove it)", ErrUnsafe, p)
	}
	return f, err
}

// regular refuses an open state file that is not a regular file with one
// link: a hard link to another file would have it overwritten or read.
func regular(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (%s)", ErrUnsafe, f.Name(), fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		return fmt.Errorf("%w: %s has %d hard links: refusing to use it (remove it)", ErrUnsafe, f.Name(), st.Nlink)
	}
	return nil
}

// readNoFollow reads the regular file p, never through a symbolic link.
func readNoFollow(p string) ([]byte, error) {
	f, err := openNoFollow(p, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := regular(f); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// loadJSON decodes the file name into v. A missing file leaves v untouched
// and returns false. A file that cannot be parsed leaves v untouched,
// returns false and a message for the run's report: it is renamed to
// name.corrupt-<time>, or with readOnly left where it is.
func (s *Store) loadJSON(name string, v any, readOnly bool) (ok bool, moved []string, err error) {
	if err := s.dirOK(); err != nil {
		return false, nil, err
	}
	p := s.path(name)
	data, err := readNoFollow(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("read %s: %w", p, err)
	}
	perr := json.Unmarshal(data, v)
	switch {
	case perr == nil:
		return true, nil, nil
	case readOnly:
		s.Logger.Warn().Str("file", p).Err(perr).Msg("state file does not parse; ignoring it")
		return false, []string{fmt.Sprintf("%s does not parse (%v): ignored", p, perr)}, nil
	}
	aside := fmt.Sprintf("%s.corrupt-%s", p, s.now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(p, aside); err != nil {
		return false, nil, fmt.Errorf("%s does not parse (%w) and cannot be moved aside: %w", p, perr, err)
	}
	s.Logger.Warn().Str("file", p).Str("moved_to", aside).Err(perr).
		Msg("state file does not parse; moved aside, starting from empty state")
	return false, []string{fmt.Sprintf("%s does not parse (%v): moved aside to %s", p, perr, aside)}, nil
}

// saveJSON writes v as indented JSON to the file name atomically: a new
// file renamed over the old name, so a symbolic link or hard link in its
// place is replaced, never written through.
func (s *Store) saveJSON(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	data = append(data, '\n')
	if err := s.ensureDir(filepath.Dir(name)); err != nil {
		return err
	}
	p := s.path(name)
	if err := renameio.WriteFile(p, data, 0o640); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
