package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

// Issue 12 against a real chronyd and the lab: one run at a time with a
// read-only state directory (item 3), a sourcedir that cannot be written
// (item 4), a rollback that keeps chronyd's reachable sources (item 7) and
// one that fails (item 10).

// makeUnwritable makes dir unwritable to root as how says: "read-only" (a
// read-only bind mount) or "immutable" (chattr +i); undone when the test
// ends, or earlier by the returned function.
func makeUnwritable(t *testing.T, dir, how string) (undo func()) {
	t.Helper()
	var cmd, rev []string
	switch how {
	case "read-only":
		cmd, rev = []string{"mount", "--bind", "-o", "ro", dir, dir}, []string{"umount", dir}
	case "immutable":
		cmd, rev = []string{"chattr", "+i", dir}, []string{"chattr", "-i", dir}
	default:
		t.Fatalf("makeUnwritable: %q", how)
	}
	if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: %v: %s", cmd, err, out)
		}
		t.Skipf("%v is not possible here: %v: %s", cmd, err, out)
	}
	if how == "read-only" {
		_ = exec.Command("mount", "-o", "remount,bind,ro", dir).Run()
	}
	var once sync.Once
	undo = func() { once.Do(func() { _ = exec.Command(rev[0], rev[1:]...).Run() }) }
	t.Cleanup(undo)
	require.Error(t, os.WriteFile(filepath.Join(dir, ".probe"), nil, 0o600), "%s is still writable", dir)
	return undo
}

// firstChange watches chronyd's sources every 100 ms from now on and
// returns a function that stops watching and says when they first
// differed from what they were at the start (zero: never).
func (e *applyEnv) firstChange() func() time.Time {
	before := e.sources()
	stop := make(chan struct{})
	done := make(chan time.Time, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- time.Time{}
				return
			case <-time.After(100 * time.Millisecond):
			}
			if v := e.view(); v.err == nil {
				var now []string
				for _, s := range v.srcs {
					now = append(now, s.Address.String())
				}
				slices.Sort(now)
				if !slices.Equal(now, before) {
					done <- time.Now()
					return
				}
			}
		}
	}()
	return func() time.Time {
		close(stop)
		return <-done
	}
}

// holdLock flocks dir's existing lock file as another run would (on a
// read-only descriptor: the directory may be read-only), and releases it
// after d; the returned channel says when.
func holdLock(t *testing.T, dir string, d time.Duration) <-chan time.Time {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "lock"))
	require.NoError(t, err)
	require.NoError(t, unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB))
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(d)
		at := time.Now()
		_ = f.Close()
		released <- at
	}()
	return released
}

// TestApplyReadOnlyStateDirOneRunAtATime is issue 12, item 3: with the
// state directory read-only, two applies 1 s apart both ran, because the
// lock file could not be created or opened for writing and the run went
// on without it. Now a run takes the lock where it can — an existing lock
// file in the read-only state directory (flock needs no write access), or
// --lock-dir — and changes chronyd only once it holds it; with no place
// for the lock it changes nothing.
func TestApplyReadOnlyStateDirOneRunAtATime(t *testing.T) {
	t.Run("nowhere to take the lock", func(t *testing.T) {
		e := newApplyEnv(t, chronytest.V43, demoProfiles(), "jittery", "lossy")
		require.NoError(t, os.MkdirAll(e.state, 0o750))
		makeUnwritable(t, e.state, "read-only")
		e.waitSelected()
		before := e.sources()

		// Nowhere to take the lock: nothing changes.
		_, stderr, code := e.apply()
		require.Equal(t, exitFailure, code, stderr)
		require.Contains(t, stderr, "no run lock could be taken")
		require.Contains(t, stderr, "refusing to change anything")
		require.Equal(t, before, e.sources(), "chronyd changed without the lock")
	})

	t.Run("held lock file in the read-only state directory", func(t *testing.T) {
		e := newApplyEnv(t, chronytest.V43, demoProfiles(), "jittery", "lossy")
		l, err := (&agent.Store{Dir: e.state}).Lock(t.Context(), 0) // an earlier run's lock file
		require.NoError(t, err)
		require.NoError(t, l.Unlock())
		makeUnwritable(t, e.state, "read-only")
		e.waitSelected()

		released := holdLock(t, e.state, 2*time.Second) // another run, in progress
		changed := e.firstChange()
		r, stderr, code := e.apply()
		first := changed()
		require.Equal(t, exitStateWarning, code, "applied, but the state cannot be saved: %s", stderr)
		require.True(t, r.Changed)
		require.False(t, first.IsZero(), "chronyd changed")
		require.True(t, first.After(<-released), "chronyd changed while the other run held the lock")
	})

	t.Run("lock directory", func(t *testing.T) {
		e := newApplyEnv(t, chronytest.V43, demoProfiles(), "jittery", "lossy")
		require.NoError(t, os.MkdirAll(e.state, 0o750))
		makeUnwritable(t, e.state, "read-only")
		e.waitSelected()
		lockDir := filepath.Join(t.TempDir(), "run")
		require.NoError(t, os.Mkdir(lockDir, 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(lockDir, "lock"), nil, 0o640))

		released := holdLock(t, lockDir, 2*time.Second)
		changed := e.firstChange()
		r, stderr, code := e.apply("--lock-dir", lockDir)
		first := changed()
		require.Equal(t, exitStateWarning, code, stderr)
		require.True(t, r.Changed)
		require.Contains(t, strings.Join(r.Warnings, "\n"), "state not saved")
		require.False(t, first.IsZero(), "chronyd changed")
		require.True(t, first.After(<-released), "chronyd changed while the other run held the lock")
	})
}

// TestApplySourcedirUnwritable is issue 12, item 4: with chronyd's
// sourcedir read-only or immutable a run exited 0 with last_run_success 1
// and a warning, every run. Now it is a failed run with its own exit code
// (7): the live change stays and is managed, the outcome says the set will
// not survive a chronyd restart, an error is notified, and the metrics say
// the run failed. Once the directory is writable again the next run
// writes the file and succeeds.
func TestApplySourcedirUnwritable(t *testing.T) {
	for _, how := range []string{"read-only", "immutable"} {
		t.Run(how, func(t *testing.T) {
			var mu sync.Mutex
			var posts []string
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				posts = append(posts, string(b))
				mu.Unlock()
			}))
			defer hook.Close()

			e := newApplyEnv(t, chronytest.V43, demoProfiles()[:4], "good-gps")
			prom := filepath.Join(t.TempDir(), "ntp_optimizer.prom")
			e.extra = []string{"--webhook", "--webhook-url", hook.URL, "--metrics-file", prom}
			file := filepath.Join(e.d.SourceDir, chronylive.SourcesFileName)
			undo := makeUnwritable(t, e.d.SourceDir, how)
			e.waitSelected()

			r, stderr, code := e.apply()
			require.Equal(t, exitNotPersisted, code, stderr)
			require.Equal(t, agent.OutcomeNotPersisted, r.Outcome)
			require.True(t, r.Changed)
			require.Contains(t, r.Reason, "will not survive a restart")
			require.Contains(t, r.Reason, "sources file not written")
			require.Equal(t, e.addrs(goodServers...), e.sources(), "the live change stays")
			_, err := os.Stat(file)
			require.True(t, os.IsNotExist(err), "no sources file")
			m, err := os.ReadFile(prom)
			require.NoError(t, err)
			require.Contains(t, string(m), "ntp_optimizer_last_run_success 0\n")
			st := readState(t, e.state)
			require.Equal(t, agent.OutcomeNotPersisted, st.LastRun.Outcome)
			require.Len(t, st.Managed, len(r.Added), "the live additions are managed")
			require.Empty(t, st.Pending)
			mu.Lock()
			require.Len(t, posts, 1)
			require.Contains(t, posts[0], "fail", "an error notification")
			mu.Unlock()

			// Nothing changes live in the next run; it still fails.
			r, stderr, code = e.apply()
			require.Equal(t, exitNotPersisted, code, stderr)
			require.False(t, r.Changed)

			undo()
			r, stderr, code = e.apply()
			require.Zero(t, code, stderr)
			require.Equal(t, agent.OutcomeUnchanged, r.Outcome)
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			require.Equal(t, 4, strings.Count(string(b), "\nserver "))
		})
	}
}

// neverSelectingEnv is an applyEnv whose chronyd never selects a source:
// it needs more selectable sources than any set has (minsources), so every
// change fails verification. chronyd starts on two good servers and the
// falseticker (150 ms off), which a run replaces at once; the lab also has
// the two other good servers, which the run adds.
func neverSelectingEnv(t *testing.T) *applyEnv {
	t.Helper()
	profiles := append(demoProfiles()[:4], demoProfiles()[6])
	lab := labtest.StartWith(t, labtest.Scenario(t, t.Name(), profiles...), ntplab.Options{Spread: true})
	lines := []string{"minsources 8"}
	for _, n := range []string{"good-gps", "good-pps", "falseticker"} {
		a := lab.Server(n).Addr()
		lines = append(lines, fmt.Sprintf("server %s port %d %s", a.Addr(), a.Port(), fastPoll))
	}
	d := chronytest.Start(t, chronytest.Options{Version: chronytest.V43, Config: lines, SourceDir: true})
	e := &applyEnv{t: t, lab: lab, d: d, state: filepath.Join(t.TempDir(), "state"),
		servers: filepath.Join(t.TempDir(), "servers")}
	var list strings.Builder
	for _, s := range lab.Servers() {
		fmt.Fprintf(&list, "%s  # %s\n", s.Addr(), s.Profile().Name)
	}
	require.NoError(t, os.WriteFile(e.servers, []byte(list.String()), 0o644))
	e.waitFor("the three sources answer", 20*time.Second, func(v chronydView) bool {
		return reachable(v) == 3
	})
	return e
}

// reachable counts the sources chronyd has heard from in its last 8 polls.
func reachable(v chronydView) int {
	n := 0
	for _, s := range v.srcs {
		if s.Reach != 0 {
			n++
		}
	}
	return n
}

// reachWatch polls chronyd every 100 ms and keeps the fewest sources it
// reached (reach register not zero) and what it saw then.
type reachWatch struct {
	stop   chan struct{}
	done   chan struct{}
	fewest int
	at     string
	polls  int
	last   string
	log    []string
	onPoll func(v chronydView) // optional, in the watching goroutine
}

func (e *applyEnv) watchReach(onPoll func(chronydView)) *reachWatch {
	w := &reachWatch{stop: make(chan struct{}), done: make(chan struct{}), fewest: 1 << 30, onPoll: onPoll}
	go func() {
		defer close(w.done)
		for {
			v := e.view()
			if v.err == nil {
				n := 0
				var seen []string
				for _, s := range v.srcs {
					if s.Reach != 0 {
						n++
					}
					seen = append(seen, fmt.Sprintf("%s %c reach %o", e.name(s.Address.String()), s.State.Char(), s.Reach))
				}
				w.polls++
				if cur := strings.Join(seen, ", "); cur != w.last {
					w.last = cur
					w.log = append(w.log, fmt.Sprintf("%s %d: %s", time.Now().Format("05.000"), n, cur))
				}
				if n < w.fewest {
					w.fewest, w.at = n, strings.Join(seen, ", ")
				}
				if w.onPoll != nil {
					w.onPoll(v)
				}
			}
			select {
			case <-w.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *reachWatch) end() { close(w.stop); <-w.done }

// TestApplyRollbackKeepsReachableRealDaemon is issue 12, item 7: with
// --verify-timeout 5s and a verification that fails, the rollback removed
// the new sources before the re-added ones answered, and chronyd's
// reachable sources went 3 → 0. Here chronyd never selects (minsources),
// the run adds two good servers and removes the falseticker, verification
// fails, and the rollback re-adds the falseticker and waits for it before
// it deletes the two: polled every 100 ms through the whole run, chronyd
// never reaches fewer sources than the 3 it had.
func TestApplyRollbackKeepsReachableRealDaemon(t *testing.T) {
	e := neverSelectingEnv(t)
	before := e.sources()
	n := reachable(e.view())
	removed := false
	w := e.watchReach(func(v chronydView) {
		if _, ok := v.source(e.addrs("falseticker")[0]); !ok {
			removed = true
		}
	})
	r, stderr, code := e.apply("--verify-timeout", "5s")
	w.end()
	t.Logf("%d polls; fewest reachable %d (before %d): %s\n%s", w.polls, w.fewest, n, w.at, strings.Join(w.log, "\n"))
	require.Equal(t, exitRolledBack, code, stderr)
	require.Equal(t, agent.OutcomeRolledBack, r.Outcome)
	require.Contains(t, r.Reason, "verification failed after 5s: chronyd has not selected a reachable source")
	require.True(t, removed, "the change removed the falseticker before verifying")
	require.Equal(t, before, e.sources(), "chronyd's set is what it was")
	require.Greater(t, w.polls, 50, "polled through the run")
	require.GreaterOrEqual(t, w.fewest, n, "chronyd reached fewer sources than before the run (%d) during it: %s", n, w.at)
}

// TestApplyRollbackFailedRealDaemon is issue 12, item 10: a rollback that
// itself failed exited 3, "rolled back". chronyd dies during the
// verification, after the falseticker was removed, so nothing can be
// undone: the run fails (exit 1), its reason says what could not be
// undone, and the additions stay pending in the state, for the next run
// to adopt those chronyd still has.
func TestApplyRollbackFailedRealDaemon(t *testing.T) {
	e := neverSelectingEnv(t)
	old := e.sources()
	ft := e.addrs("falseticker")[0]
	var once sync.Once
	w := e.watchReach(func(v chronydView) {
		if _, ok := v.source(ft); !ok {
			once.Do(e.d.Kill) // the change removed it: verification is running
		}
	})
	r, stderr, code := e.apply("--verify-timeout", "5s")
	w.end()
	require.Equal(t, exitFailure, code, stderr)
	require.Equal(t, agent.OutcomeFailed, r.Outcome)
	require.False(t, r.RolledBack)
	require.Contains(t, r.Reason, "the rollback failed: the change failed (verification failed after 5s")
	require.Contains(t, r.Reason, "could not be undone: re-adding "+ft)
	require.Contains(t, r.Reason, "chrony may still have sources this run added or lack ones it removed")
	st := readState(t, e.state)
	require.Len(t, st.Pending, 2, "the additions stay pending")
	require.Equal(t, 1, st.Counters.Failures)
	require.Zero(t, st.Counters.Rollbacks)

	// chronyd comes back from its configuration (the sources file was
	// never written): the pending additions are not there, and are
	// dropped.
	e.d.Restart(t)
	require.Equal(t, old, e.sources())
	r, _, _ = e.apply("--verify-timeout", "5s")
	require.NotContains(t, strings.Join(r.Notes, "\n"), "adopted")
	st = readState(t, e.state)
	require.Empty(t, st.Managed)
}

// TestApplyExitCodes: the exit code each sentinel maps to (item 10: a
// failed rollback is a failure, not "rolled back"; item 4: not persisted
// has its own code).
func TestApplyExitCodes(t *testing.T) {
	code := func(err error) int {
		f, _ := os.CreateTemp(t.TempDir(), "err")
		defer f.Close()
		return exitCode(applyExit(err), f)
	}
	why := fmt.Errorf("verification failed after 5s: chronyd has not selected a reachable source")
	require.Equal(t, exitFailure, code(&daemon.RollbackError{Why: why, Left: fmt.Errorf("removing 192.0.2.1: refused")}))
	require.Equal(t, exitRolledBack, code(fmt.Errorf("%w: %w", daemon.ErrRolledBack, why)))
	require.Equal(t, exitNotPersisted, code(fmt.Errorf("%w: sources file not written", daemon.ErrNotPersisted)))
	require.Equal(t, exitFailure, code(fmt.Errorf("%w: lock directory /run/ntp-optimizer: read-only file system", agent.ErrNoLock)))
	// Every other documented code, from the run's errors (each also has an
	// end-to-end test: docs/architecture.md lists them).
	require.Equal(t, exitOK, code(nil))
	require.Equal(t, exitUsage, code(fmt.Errorf("%w: servers file:3: bad server entry", agent.ErrInput)))
	require.Equal(t, exitNoUsable, code(fmt.Errorf("%w: none of 8 candidates passed the filters", agent.ErrNoUsable)))
	require.Equal(t, exitStateWarning, code(fmt.Errorf("%w: read-only file system", agent.ErrStateNotSaved)))
	require.Equal(t, exitOutage, code(fmt.Errorf("%w: none of the 4 servers probed answered", agent.ErrOutage)))
}
