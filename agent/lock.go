package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// ErrLocked is returned when another run holds the run lock for longer
// than the wait allows.
var ErrLocked = errors.New("another ntp-optimizer run is in progress")

// DefaultLockWait is how long a run waits for a previous one to finish.
const DefaultLockWait = 10 * time.Second

// DefaultLockDir is the runtime directory the run lock is taken in for
// the default state directory (Store.LockDir): it can be taken there when
// the state directory is read-only, full or unusable.
const DefaultLockDir = "/run/ntp-optimizer"

// lockPoll is how often a waiting run retries the lock.
const lockPoll = 100 * time.Millisecond

// Lock is the run lock: an exclusive flock(2) on the lock file of the lock
// directory and on the state directory's, each where it could be taken.
// It is released by Unlock or when the process exits.
type Lock struct {
	files []*os.File
	// Skipped says why the lock could not be taken in a place: the place
	// is unusable (read-only without a lock file, not creatable, or
	// refused as unsafe). Another run that cannot use it either takes the
	// lock in the other place.
	Skipped []error
	// StateErr is why the state directory's lock could not be taken (one
	// of Skipped): the state directory is unusable for this run.
	StateErr error
}

// lockDirs are the places of the run lock, in the order they are taken:
// the lock directory (see Store.LockDir), then the state directory.
func (s *Store) lockDirs() []string {
	ld := s.LockDir
	if ld == "" && filepath.Clean(s.Dir) == DefaultStateDir {
		ld = DefaultLockDir
	}
	var dirs []string
	if ld != "" && filepath.Clean(ld) != filepath.Clean(s.Dir) {
		dirs = append(dirs, ld)
	}
	return append(dirs, s.Dir)
}

// Lock takes the run lock, waiting up to wait for a run in progress to
// finish (ErrLocked after that). It is taken in every place that can hold
// it, the lock directory and then the state directory, and at least one
// must. Two runs could miss each other only if one could use just the lock
// directory and the other just the state directory; a sandbox (the
// service's read-only /run) can take the lock directory away from a run,
// but then the state directory it can use is usable to the other run too.
// A lock file the run cannot write (a read-only state directory) still
// locks: flock(2) needs only a descriptor. With no place the error is
// ErrNoLock and the run must change nothing. The lock files record the
// owner's pid where they can, so the error can name it. An older
// ntp-optimizer, which locks only the state directory, is excluded too.
func (s *Store) Lock(ctx context.Context, wait time.Duration) (*Lock, error) {
	clk := s.clock()
	deadline := clk.Now().Add(wait)
	l := &Lock{}
	for _, dir := range s.lockDirs() {
		f, err := s.lockIn(ctx, dir, deadline, wait)
		switch {
		case err == nil:
			l.files = append(l.files, f)
			continue
		case errors.Is(err, ErrLocked), ctx.Err() != nil:
			_ = l.Unlock()
			return nil, err
		}
		l.Skipped = append(l.Skipped, err)
		if dir == s.Dir {
			l.StateErr = err
		}
	}
	if len(l.files) == 0 {
		args := []any{ErrNoLock}
		for _, e := range l.Skipped {
			args = append(args, e)
		}
		args = append(args, DefaultLockDir)
		return nil, fmt.Errorf("%w: "+strings.Repeat("%w; ", len(l.Skipped))+"refusing to change anything "+
			"(make the state directory usable, or set paths.lock_dir to a directory the run can write, such as %s)", args...)
	}
	return l, nil
}

// lockIn takes the lock in dir's lock file, waiting until deadline.
func (s *Store) lockIn(ctx context.Context, dir string, deadline time.Time, wait time.Duration) (*os.File, error) {
	what := "lock directory"
	if dir == s.Dir {
		what = "state directory"
	}
	if err := makeDir(dir, what); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, lockFile)
	f, err := openNoFollow(p, os.O_RDWR|os.O_CREATE, 0o640)
	writable := err == nil
	if errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		// A read-only or immutable directory: an existing lock file
		// still locks.
		f, err = openNoFollow(p, os.O_RDONLY, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := regular(f); err != nil {
		f.Close()
		return nil, err
	}
	clk := s.clock()
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		if clk.Now().After(deadline) {
			owner := readOwner(p)
			f.Close()
			return nil, fmt.Errorf("%w (lock %s held%s for more than %s): try again later", ErrLocked, p, owner, wait)
		}
		if err := clock.Sleep(ctx, clk, lockPoll); err != nil {
			f.Close()
			return nil, err
		}
	}
	if writable {
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// readOwner returns " by pid N" from the lock file, or "".
func readOwner(p string) string {
	b, err := readNoFollow(p)
	if err != nil {
		return ""
	}
	pid := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return " by pid " + pid
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	var errs []error
	for i := len(l.files) - 1; i >= 0; i-- {
		f := l.files[i]
		errs = append(errs, unix.Flock(int(f.Fd()), unix.LOCK_UN), f.Close())
	}
	l.files = nil
	return errors.Join(errs...)
}
