package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// ErrLocked is returned when another run holds the state directory's lock
// for longer than the wait allows.
var ErrLocked = errors.New("another ntp-optimizer run is in progress")

// DefaultLockWait is how long a run waits for a previous one to finish.
const DefaultLockWait = 10 * time.Second

// lockPoll is how often a waiting run retries the lock.
const lockPoll = 100 * time.Millisecond

// Lock is an exclusive flock(2) on the state directory's lock file. It is
// released by Unlock or when the process exits.
type Lock struct {
	f *os.File
}

// Lock takes the state directory's exclusive lock, waiting up to wait for a
// run in progress to finish. The lock file records the owner's pid so the
// error can name it.
func (s *Store) Lock(ctx context.Context, wait time.Duration) (*Lock, error) {
	if err := s.ensureDir(""); err != nil {
		return nil, err
	}
	p := s.path(lockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	clk := s.clock()
	deadline := clk.Now().Add(wait)
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
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// readOwner returns " by pid N" from the lock file, or "".
func readOwner(p string) string {
	b, err := os.ReadFile(p)
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
	if l == nil || l.f == nil {
		return nil
	}
	err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	cerr := l.f.Close()
	l.f = nil
	return errors.Join(err, cerr)
}
