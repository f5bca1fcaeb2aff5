package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// These tests are issue 12's hostile state directories (items 3 and 5),
// a sources file that cannot be written (4), a rollback that fails (10)
// and a run killed while applying (8), on the pipeline's fakes.

// readOnlyDir makes dir read-only for this process: a read-only bind mount
// as root (root ignores permissions), mode 0500 otherwise. It is undone
// when the test ends.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		require.NoError(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return
	}
	if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot make a read-only bind mount here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	_ = exec.Command("mount", "-o", "remount,bind,ro", dir).Run() // older kernels need it for ro
	if err := os.WriteFile(filepath.Join(dir, ".probe"), nil, 0o600); err == nil {
		t.Fatalf("%s is still writable after a read-only bind mount", dir)
	}
}

// slowBackend is the fake daemon with an Apply that takes a while and
// counts how many runs were inside it at once.
type slowBackend struct {
	*fakeBackend
	hold     time.Duration
	inFlight atomic.Int32
	most     atomic.Int32
	calls    atomic.Int32
}

func (b *slowBackend) Apply(ctx context.Context, p daemon.Plan) (daemon.Applied, error) {
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	b.calls.Add(1)
	for {
		m := b.most.Load()
		if n <= m || b.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(b.hold)
	return b.fakeBackend.Apply(ctx, p)
}

// twoRuns starts two runs of e's agent 1 s apart and returns their errors.
func twoRuns(t *testing.T, a *agent.Agent) [2]error {
	var errs [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.Run(context.Background(), agent.Options{})
		}()
		if i == 0 {
			time.Sleep(time.Second)
		}
	}
	wg.Wait()
	return errs
}

// TestRunOneAtATimeWithReadOnlyStateDir is issue 12, item 3: with the
// state directory read-only, two applies started 1 s apart both ran (the
// lock could not be created, and the run went on without it). Now the
// lock is taken where it can be: in the lock directory, or in the state
// directory's existing lock file (flock needs no write access); with
// neither, no run changes anything.
func TestRunOneAtATimeWithReadOnlyStateDir(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lockDir  bool // a usable lock directory is configured
		lockFile bool // the read-only state directory has a lock file from an earlier run
		applies  int  // runs that reach the daemon
	}{
		{name: "lock directory", lockDir: true, applies: 2},
		{name: "existing lock file in the state directory", lockFile: true, applies: 2},
		{name: "no place for the lock", applies: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			slow := &slowBackend{fakeBackend: e.backend, hold: 1500 * time.Millisecond}
			e.a.Backend = slow
			e.a.LockWait = 10 * time.Second
			e.a.Store.Clock = nil // the wait for the lock is real time
			require.NoError(t, os.MkdirAll(e.a.Store.Dir, 0o750))
			if tc.lockFile {
				l, err := e.a.Store.Lock(t.Context(), 0)
				require.NoError(t, err)
				require.NoError(t, l.Unlock())
			}
			if tc.lockDir {
				e.a.Store.LockDir = filepath.Join(t.TempDir(), "run")
			}
			readOnlyDir(t, e.a.Store.Dir)

			errs := twoRuns(t, e.a)
			require.EqualValues(t, tc.applies, slow.calls.Load(), "runs that changed the daemon")
			require.LessOrEqual(t, slow.most.Load(), int32(1), "two runs applied at the same time")
			for i, err := range errs {
				if tc.applies == 0 {
					require.ErrorIs(t, err, agent.ErrNoLock, "run %d", i+1)
					require.ErrorContains(t, err, "refusing to change anything")
					continue
				}
				require.ErrorIs(t, err, agent.ErrStateNotSaved, "run %d: applied, but nothing can be saved", i+1)
			}
			if tc.lockDir {
				_, err := os.Stat(filepath.Join(e.a.Store.LockDir, "lock"))
				require.NoError(t, err, "the lock is in the lock directory")
			}
		})
	}
}

// TestLockDoesNotFollowSymlinks is issue 12, item 5: state/lock -> victim
// truncated the victim. The lock file is opened O_NOFOLLOW and must be a
// regular file with one link; otherwise that place is refused.
func TestLockDoesNotFollowSymlinks(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o644))
	for _, plant := range []struct {
		name string
		make func(p string) error
	}{
		{"symbolic link", func(p string) error { return os.Symlink(victim, p) }},
		{"hard link", func(p string) error { return os.Link(victim, p) }},
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
	} {
		t.Run(plant.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, plant.make(filepath.Join(dir, "lock")))
			s := &agent.Store{Dir: dir}
			_, err := s.Lock(t.Context(), 0)
			require.ErrorIs(t, err, agent.ErrNoLock)
			require.ErrorIs(t, err, agent.ErrUnsafe)

			s.LockDir = t.TempDir()
			l, err := s.Lock(t.Context(), 0)
			require.NoError(t, err, "held in the lock directory")
			require.ErrorIs(t, l.StateErr, agent.ErrUnsafe, "the state directory is not used")
			require.NoError(t, l.Unlock())

			b, err := os.ReadFile(victim)
			require.NoError(t, err)
			require.Equal(t, "precious\n", string(b), "the victim is untouched")
		})
	}

	t.Run("a run", func(t *testing.T) {
		e := newEnv(t)
		require.NoError(t, os.MkdirAll(e.a.Store.Dir, 0o750))
		require.NoError(t, os.Symlink(victim, filepath.Join(e.a.Store.Dir, "lock")))
		_, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, agent.ErrNoLock)
		require.ErrorContains(t, err, "is a symbolic link: not following it")
		require.Empty(t, e.backend.plans, "nothing changed without the lock")
		b, err := os.ReadFile(victim)
		require.NoError(t, err)
		require.Equal(t, "precious\n", string(b))
	})
}

// TestStateFilesDoNotFollowSymlinks: state.json is read without following
// a link (or blocking on a FIFO); last-decision.json and history files
// replace a link rather than write through it; a history directory that
// is a link is neither written nor pruned through.
func TestStateFilesDoNotFollowSymlinks(t *testing.T) {
	t.Run("state.json", func(t *testing.T) {
		elsewhere := filepath.Join(t.TempDir(), "forged.json")
		require.NoError(t, os.WriteFile(elsewhere, []byte(`{"version":1,"managed":{"10.0.1.1":{"server":"x"}}}`), 0o644))
		dir := t.TempDir()
		require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, "state.json")))
		s := &agent.Store{Dir: dir}
		_, _, err := s.LoadState()
		require.ErrorIs(t, err, agent.ErrUnsafe)
		_, _, err = s.PeekState()
		require.ErrorIs(t, err, agent.ErrUnsafe)
	})
	t.Run("state.json is a FIFO", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "state.json"), 0o600))
		done := make(chan error, 1)
		go func() { _, _, err := (&agent.Store{Dir: dir}).PeekState(); done <- err }()
		select {
		case err := <-done:
			require.ErrorIs(t, err, agent.ErrUnsafe)
			require.ErrorContains(t, err, "not a regular file")
		case <-time.After(5 * time.Second):
			t.Fatal("reading state.json blocked on a FIFO")
		}
	})
	t.Run("last-decision.json and history", func(t *testing.T) {
		victims := t.TempDir()
		decision := filepath.Join(victims, "decision")
		require.NoError(t, os.WriteFile(decision, []byte("precious\n"), 0o644))
		old := filepath.Join(victims, "20000101T000000Z-0ld0ld00.json") // a name pruning would remove
		require.NoError(t, os.WriteFile(old, []byte("{}"), 0o644))

		e := newEnv(t)
		dir := e.a.Store.Dir
		require.NoError(t, os.MkdirAll(dir, 0o750))
		require.NoError(t, os.Symlink(decision, filepath.Join(dir, "last-decision.json")))
		require.NoError(t, os.Symlink(victims, filepath.Join(dir, "history")))
		_, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, agent.ErrStateNotSaved)
		require.ErrorIs(t, err, agent.ErrUnsafe)
		require.ErrorContains(t, err, filepath.Join(dir, "history")+" is a symbolic link")

		b, err := os.ReadFile(decision)
		require.NoError(t, err)
		require.Equal(t, "precious\n", string(b), "the link was replaced, not written through")
		fi, err := os.Lstat(filepath.Join(dir, "last-decision.json"))
		require.NoError(t, err)
		require.True(t, fi.Mode().IsRegular())
		entries, err := os.ReadDir(victims)
		require.NoError(t, err)
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		require.Equal(t, []string{filepath.Base(old), "decision"}, names, "nothing written or pruned through the history link")
	})
}

// TestStateDirPermissions is issue 12, item 5: the state directory is
// created 0750 and owned by the user running the agent, and one that
// others can write is refused with an error that says how to fix it.
func TestStateDirPermissions(t *testing.T) {
	t.Run("created 0750", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		require.NoError(t, (&agent.Store{Dir: dir}).SaveState(agent.State{}))
		fi, err := os.Stat(dir)
		require.NoError(t, err)
		require.Zero(t, fi.Mode().Perm()&0o027, "mode %v: only the owner may write, others may not read", fi.Mode().Perm())
		require.Equal(t, os.FileMode(0o700), fi.Mode().Perm()&0o700)
		require.EqualValues(t, os.Geteuid(), fi.Sys().(*syscall.Stat_t).Uid)
	})

	type refusal struct {
		name  string
		setup func(t *testing.T, dir string)
		says  string
	}
	cases := []refusal{
		{"world-writable", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o777)) },
			"is writable by everyone (mode 0777): refusing to use it (chmod 0750 "},
		{"world-writable and sticky", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o1777)) },
			"is writable by everyone (mode 0777)"},
		{"group-writable", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o770)) },
			"is writable by its group (mode 0770)"},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, refusal{"owned by another user", func(t *testing.T, dir string) {
			require.NoError(t, os.Chown(dir, 65534, 65534))
		}, "is owned by uid 65534, neither root nor this process's user (uid 0): refusing to use it"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			s := &agent.Store{Dir: dir}
			for what, err := range map[string]error{
				"save": s.SaveState(agent.State{}),
				"load": func() error { _, _, err := s.LoadState(); return err }(),
				"peek": func() error { _, _, err := s.PeekState(); return err }(),
				"lock": func() error { _, err := s.Lock(t.Context(), 0); return err }(),
			} {
				require.ErrorIs(t, err, agent.ErrUnsafe, what)
				require.ErrorContains(t, err, "state directory "+dir+" "+tc.says, what)
			}
			_, err := os.Stat(filepath.Join(dir, "state.json"))
			require.True(t, os.IsNotExist(err), "nothing written")
		})
	}

	t.Run("a run", func(t *testing.T) {
		// A planted state.json in a world-writable directory: under
		// add-only it would make the agent remove servers 1 and 2.
		e := newEnv(t)
		e.a.Policy = daemon.PolicyAddOnly
		dir := e.a.Store.Dir
		require.NoError(t, os.MkdirAll(dir, 0o750))
		require.NoError(t, os.Chmod(dir, 0o777))
		planted := `{"version":1,"managed":{"10.0.1.1":{"server":"a"},"10.0.2.1":{"server":"b"}}}`
		require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), []byte(planted), 0o666))

		_, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, agent.ErrNoLock, "without a lock directory there is no lock")
		require.Empty(t, e.backend.plans)

		e.a.Store.LockDir = t.TempDir()
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, agent.ErrStateNotSaved)
		require.ErrorIs(t, err, agent.ErrUnsafe)
		require.Equal(t, agent.OutcomeApplied, rep.Outcome, "the machine still gets good time")
		require.Len(t, e.backend.plans, 1)
		require.Empty(t, e.backend.plans[0].Remove, "the planted state was not read")
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		require.NoError(t, err)
		require.Equal(t, planted, string(b), "nor overwritten")
	})
}

// TestRunNotPersisted is issue 12, item 4 on the pipeline: the backend
// changed the daemon live but could not write the file it reads at start
// (daemon.ErrNotPersisted). That is a failed run — its own outcome, an
// error notification, metrics success 0, no last_success — and the live
// additions are managed sources.
func TestRunNotPersisted(t *testing.T) {
	e := newEnv(t)
	notPersisted := fmt.Errorf("%w: sources file not written: write /etc/chrony/sources.d/ntp-optimizer.sources: "+
		"read-only file system", daemon.ErrNotPersisted)
	e.backend.apply = func(p daemon.Plan) (daemon.Applied, error) {
		for _, s := range p.Add {
			e.backend.sources = append(e.backend.sources, daemon.Source{Address: s.Address, Port: s.Port, Name: s.Name, ID: s.Address.String()})
		}
		return daemon.Applied{Added: p.Add, Removed: p.Remove}, notPersisted
	}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, daemon.ErrNotPersisted)
	require.Equal(t, agent.OutcomeNotPersisted, rep.Outcome)
	require.True(t, rep.Changed, "the change is live")
	require.False(t, rep.Succeeded())
	require.Len(t, rep.Added, 2)
	require.Contains(t, rep.Summary(), "applied live but not persisted: 2 added, 0 removed; fake uses 4 sources")
	require.Contains(t, rep.Summary(), "will not survive a restart of the daemon")

	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Equal(t, agent.Counters{Runs: 1, Changes: 1, Failures: 1}, st.Counters)
	require.True(t, st.LastSuccess.IsZero())
	require.Len(t, st.Managed, 2, "the live additions are the agent's")
	require.Empty(t, st.Pending)
	require.Equal(t, notify.ErrorFailed, e.notifier.outcomes[0].Failure.Kind)
	require.False(t, e.metrics.runs[0].Success)

	// The next run changes nothing live, and still fails while the file
	// cannot be written.
	rep, err = e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, daemon.ErrNotPersisted)
	require.Equal(t, agent.OutcomeNotPersisted, rep.Outcome)
	require.False(t, rep.Changed)
	require.Contains(t, rep.Summary(), "not persisted: fake uses 4 sources")
}

// TestRunRollbackFailed is issue 12, item 10: a rollback that failed was
// reported "rolled back" (exit 3). It is a failed run whose reason says
// what could not be undone; the additions stay pending, so the next run
// adopts those the daemon still has.
func TestRunRollbackFailed(t *testing.T) {
	e := newEnv(t)
	e.a.Policy = daemon.PolicyAddOnly
	var stuck netip.Addr
	e.backend.apply = func(p daemon.Plan) (daemon.Applied, error) {
		stuck = p.Add[0].Address // added, and its delete failed
		e.backend.sources = append(e.backend.sources, daemon.Source{Address: stuck, Port: 123, Name: stuck.String(), ID: stuck.String()})
		why := errors.New("verification failed after 5s: chronyd has not selected a reachable source")
		return daemon.Applied{RolledBack: true, Reason: why.Error()},
			&daemon.RollbackError{Why: why, Left: errors.Join(fmt.Errorf("removing %s: chronyd: failure", stuck))}
	}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, daemon.ErrRollbackFailed)
	require.Equal(t, agent.OutcomeFailed, rep.Outcome)
	require.False(t, rep.RolledBack, "not rolled back: part of the change is still there")
	require.Contains(t, rep.Reason, "the rollback failed: the change failed (verification failed after 5s: chronyd has not selected a reachable source) "+
		"and could not be undone: removing "+stuck.String()+": chronyd: failure; fake may still have sources this run added")
	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Equal(t, agent.Counters{Runs: 1, Failures: 1}, st.Counters)
	require.Contains(t, st.Pending, stuck.String(), "the additions stay pending")
	require.Equal(t, notify.ErrorFailed, e.notifier.outcomes[0].Failure.Kind)

	e.backend.apply = nil
	rep, err = e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Contains(t, rep.Notes, fmt.Sprintf("adopted %s as a managed source: run %s added it and ended before recording it",
		stuck, st.LastRun.RunID))
	st, _, err = e.a.Store.PeekState()
	require.NoError(t, err)
	require.Contains(t, st.Managed, stuck.String())
	require.Empty(t, st.Pending)
}

// TestRunKilledWhileApplyingLeaksNothing is issue 12, item 8: under
// add-only a source added just before the agent was killed was never
// recorded as managed, so it stayed in the daemon, dead, through every
// later run. The run now writes its additions ahead (pending, in
// state.json) before it asks the daemon; the next run adopts those the
// daemon has, and can remove them. The kill is runtime.Goexit in the
// backend's Apply, after the additions: no code of the run after it runs
// (only its deferred unlock, as the kernel releases a killed process's
// flock).
func TestRunKilledWhileApplyingLeaksNothing(t *testing.T) {
	e := newEnv(t)
	e.a.Policy = daemon.PolicyAddOnly
	var added []daemon.Server
	e.backend.apply = func(p daemon.Plan) (daemon.Applied, error) {
		for _, s := range p.Add {
			e.backend.sources = append(e.backend.sources, daemon.Source{Address: s.Address, Port: s.Port, Name: s.Name,
				ID: s.Address.String(), HasReach: true, Reach: 0xFF})
		}
		added = p.Add
		runtime.Goexit() // SIGKILL
		panic("unreachable")
	}
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		_, _ = e.a.Run(context.Background(), agent.Options{})
	}()
	<-killed
	require.NotEmpty(t, added, "the killed run added sources")
	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Nil(t, st.LastRun, "the killed run recorded nothing")
	for _, s := range added {
		require.Contains(t, st.Pending, s.Address.String(), "written ahead")
	}

	// The first addition is dead by the next run: chronyd has not heard
	// from it in 8 polls, and it does not answer the probe.
	dead := added[0].Address
	for i := range e.backend.sources {
		if e.backend.sources[i].Address == dead {
			e.backend.sources[i].Reach = 0
		}
	}
	delete(e.prober.results, dead)
	e.prober.results[addr(6)] = good(6) // a replacement
	e.backend.apply = nil
	e.clock.Advance(6 * time.Hour)
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeApplied, rep.Outcome)
	var notes []string
	for _, n := range rep.Notes {
		if strings.HasPrefix(n, "adopted ") {
			notes = append(notes, n)
		}
	}
	require.Len(t, notes, len(added), "%v", rep.Notes)
	plan := e.backend.plans[len(e.backend.plans)-1]
	require.True(t, slices.ContainsFunc(plan.Remove, func(s daemon.Source) bool { return s.Address == dead }),
		"the dead source the killed run added is removed: %+v", plan)
	for _, s := range e.backend.sources {
		require.NotEqual(t, dead, s.Address, "still in the daemon")
	}
	st, _, err = e.a.Store.PeekState()
	require.NoError(t, err)
	require.NotContains(t, st.Managed, dead.String())
	require.Empty(t, st.Pending)
	for _, s := range added[1:] {
		require.Contains(t, st.Managed, s.Address.String(), "adopted")
	}
}

// TestRunPendingNotInTheDaemon: a pending addition the daemon does not
// have (the killed run never got to it, or chronyd restarted since) is
// dropped, not adopted.
func TestRunPendingNotInTheDaemon(t *testing.T) {
	e := newEnv(t)
	ghost := netip.MustParseAddr("192.0.2.99")
	require.NoError(t, e.a.Store.SaveState(agent.State{Pending: map[string]agent.ManagedSource{
		ghost.String(): {Name: "ghost", RunID: "deadbeef"}}}))
	e.prober.results[ghost] = prober.Result{}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	for _, n := range rep.Notes {
		require.NotContains(t, n, "adopted")
	}
	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.NotContains(t, st.Managed, ghost.String())
	require.Empty(t, st.Pending)
}
