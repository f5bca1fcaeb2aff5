package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

type sample struct {
	A int    `json:"a"`
	B string `json:"b"`
}

func TestStoreRoundTrip(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "state"), Logger: zerolog.Nop()}
	var v sample
	ok, _, err := s.loadJSON("x.json", &v, false)
	require.NoError(t, err)
	require.False(t, ok, "missing file")

	require.NoError(t, s.saveJSON("x.json", sample{A: 7, B: "b"}))
	ok, _, err = s.loadJSON("x.json", &v, false)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, sample{A: 7, B: "b"}, v)

	fi, err := os.Stat(s.path("x.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

func TestStoreCorruptFileMovedAside(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := &Store{Dir: dir, Logger: zerolog.Nop(), Clock: clocktest.NewStepper(now)}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.json"), []byte("{not json"), 0o640))

	v := sample{A: 1}
	ok, moved, err := s.loadJSON("x.json", &v, false)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, []string{filepath.Join(dir, "x.json") + " does not parse (invalid character 'n' looking for beginning of object key string): moved aside to " +
		filepath.Join(dir, "x.json.corrupt-20261126T120000Z")}, moved)
	require.Equal(t, sample{A: 1}, v, "value untouched")

	_, err = os.Stat(filepath.Join(dir, "x.json"))
	require.True(t, os.IsNotExist(err), "corrupt file no longer in place")
	kept, err := os.ReadFile(filepath.Join(dir, "x.json.corrupt-20261126T120000Z"))
	require.NoError(t, err)
	require.Equal(t, "{not json", string(kept), "corrupt content preserved")
}

func TestStoreUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions; use a path under a file instead.
		f := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(f, nil, 0o600))
		s := &Store{Dir: filepath.Join(f, "state"), Logger: zerolog.Nop()}
		require.Error(t, s.saveJSON("x.json", sample{}))
		return
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o500))
	s := &Store{Dir: dir, Logger: zerolog.Nop()}
	require.Error(t, s.saveJSON("x.json", sample{}))
}

func TestLockExclusive(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Logger: zerolog.Nop()}
	ctx := context.Background()
	l1, err := s.Lock(ctx, time.Second)
	require.NoError(t, err)

	start := time.Now()
	_, err = s.Lock(ctx, 300*time.Millisecond)
	require.ErrorIs(t, err, ErrLocked)
	require.Contains(t, err.Error(), "pid")
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "second run waits before giving up")

	// A waiter gets the lock as soon as it is released.
	done := make(chan error, 1)
	go func() {
		l, err := s.Lock(ctx, 5*time.Second)
		if err == nil {
			err = l.Unlock()
		}
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	require.NoError(t, l1.Unlock())
	require.NoError(t, <-done)
}

func TestLockHonoursContext(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Logger: zerolog.Nop()}
	l, err := s.Lock(context.Background(), time.Second)
	require.NoError(t, err)
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Lock(ctx, time.Minute)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestStateFromNewerVersionIsRefused(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"version": 99}`), 0o640))
	st, _, err := (&Store{Dir: dir, Logger: zerolog.Nop()}).LoadState()
	require.ErrorContains(t, err, "newer ntp-optimizer")
	require.NotNil(t, st.Managed)
}

func TestStoreReadOnlyLeavesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	require.NoError(t, os.WriteFile(p, []byte("{not json"), 0o640))
	s := &Store{Dir: dir, Logger: zerolog.Nop()}
	st, moved, err := s.PeekState()
	require.NoError(t, err)
	require.NotNil(t, st.Managed)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "{not json", string(b), "left in place")
	require.Len(t, moved, 1)
}
