package main

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
)

// noselect lists the sources chronyd has with noselect configured (what
// an audition leaves behind), sorted.
func (e *applyEnv) noselect() []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srcs, err := e.d.Client(e.t).SourcesParts(ctx, chronyctl.PartSelect)
	require.NoError(e.t, err)
	var out []string
	for _, s := range srcs {
		if s.Has.Select && s.Select.ConfOptions&chronyctl.SelectNoSelect != 0 {
			out = append(out, s.Address.String())
		}
	}
	slices.Sort(out)
	return out
}

// TestAuditionConverges (issue 14): from the poor start, apply with
// --measure chronyd converges to the same four good servers as with
// --measure probe, in as many runs, on chronyd 4.3 (winners deleted and
// re-added) and 4.6 (selectopts -noselect); after every run no noselect
// source is left, and the falseticker, the rate-limiting and the
// unsynchronised server are never added. A dry run adds nothing, not even
// a noselect source.
func TestAuditionConverges(t *testing.T) {
	for _, v := range []chronytest.Version{chronytest.V43, chronytest.V46} {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			runs := map[string]int{}
			for _, mode := range []string{"probe", "chronyd"} {
				e := newApplyEnv(t, v, demoProfiles(), "jittery", "lossy")
				e.extra = []string{"--measure", mode}
				e.waitSelected()
				if mode == "chronyd" {
					before := e.sources()
					most := watchSources(t, e)
					r, stderr, code := e.apply("--dry-run")
					require.Zero(t, code, stderr)
					require.Equal(t, agent.OutcomeDryRun, r.Outcome)
					require.Equal(t, len(before), most(), "a dry run added a source")
					require.Equal(t, before, e.sources())
				}
				for run := 1; run <= 4 && runs[mode] == 0; run++ {
					r, stderr, code := e.apply()
					require.Zero(t, code, "%s run %d: %s", mode, run, stderr)
					for _, a := range r.Added {
						require.NotContains(t, neverAdded, e.name(a.Address.String()), "%s run %d", mode, run)
					}
					require.Empty(t, e.noselect(), "%s run %d left sources under audition", mode, run)
					audited := slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "auditioned ") })
					require.Equal(t, mode == "chronyd" && run == 1, audited && run == 1, "%s run %d: %v", mode, run, r.Notes)
					t.Logf("%s run %d: %s; added %v removed %v; chronyd: %v", mode, run, r.Outcome,
						e.names(changeAddrs(r.Added)), e.names(changeAddrs(r.Removed)), e.names(toAddrs(e.sources())))
					if slices.Equal(e.sources(), e.addrs(goodServers...)) {
						runs[mode] = run
					}
					e.waitSelected()
				}
				require.NotZero(t, runs[mode], "%s: chronyd never reached the four good servers:\n%s", mode,
					e.d.Chronyc(t, "-n", "sources"))
			}
			require.Equal(t, runs["probe"], runs["chronyd"], "the same runs to converge")
		})
	}
}

// watchSources counts chronyd's sources every 20 ms until the returned
// function is called, which gives the most it saw.
func watchSources(t *testing.T, e *applyEnv) func() int {
	c := e.d.Client(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	most := 0
	wg.Go(func() {
		for {
			if srcs, err := c.SourcesParts(context.Background(), 0); err == nil {
				most = max(most, len(srcs))
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	return func() int { close(stop); wg.Wait(); return most }
}

// TestAuditionInterrupted: a run signalled while candidates are under
// audition (a silent candidate keeps it there). SIGTERM: the run deletes
// them before it exits. SIGKILL: they stay, and apply --cleanup deletes
// them; killed again, the next run deletes them before anything else and
// applies as usual.
func TestAuditionInterrupted(t *testing.T) {
	for _, v := range []chronytest.Version{chronytest.V43, chronytest.V46} {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			profiles := append(demoProfiles()[:4], ntplab.Profile{Name: "dead", Silent: true})
			e := newApplyEnv(t, v, profiles, goodServers[:2]...)
			e.extra = []string{"--measure", "chronyd"}
			e.waitSelected()
			before := e.sources()
			bin := binary(t)
			interrupt := func(sig syscall.Signal) string {
				cmd := exec.Command(bin, append([]string{"--config", "", "--log-level", "error"}, e.args()...)...)
				var out lockedBuffer // written by exec's copier while the test reads it
				cmd.Stdout, cmd.Stderr = &out, &out
				require.NoError(t, cmd.Start())
				deadline := time.Now().Add(10 * time.Second)
				for len(e.noselect()) == 0 {
					require.True(t, time.Now().Before(deadline), "no audition began: %s", out.String())
					time.Sleep(20 * time.Millisecond)
				}
				require.NoError(t, cmd.Process.Signal(sig))
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatalf("%v: apply still running 20 s after the signal", sig)
				}
				return out.String()
			}

			out := interrupt(syscall.SIGTERM)
			require.Empty(t, e.noselect(), "SIGTERM: the run deletes what it auditioned: %s", out)
			require.Equal(t, before, e.sources())

			interrupt(syscall.SIGKILL)
			left := e.noselect()
			require.NotEmpty(t, left, "SIGKILL leaves the audition")
			// sources names them: a note beside chronyc's table, a list in --json.
			table, stderr, code := runSerial(t, "sources", "--chrony-socket", e.d.Socket, "--state-dir", e.state)
			require.Zero(t, code, stderr)
			require.Contains(t, stderr, "ntp-optimizer: note: under audition since ")
			var listed []audition
			out, _, code = runSerial(t, "sources", "--json", "--chrony-socket", e.d.Socket, "--state-dir", e.state)
			require.Zero(t, code)
			jsonList(t, out, "sources", "auditions", &listed)
			require.Len(t, listed, len(left))
			for _, a := range left {
				require.Contains(t, table, a, "chronyc's table lists the auditioned source")
				require.Contains(t, stderr, a)
				require.True(t, slices.ContainsFunc(listed, func(l audition) bool { return l.Address == a }), "%s in --json", a)
			}
			stdout, stderr, code := runSerial(t, append(e.args()[:0:0], "apply", "--cleanup", "--chrony-socket", e.d.Socket,
				"--chrony-conf", e.d.Conf(), "--state-dir", e.state)...)
			require.Zero(t, code, stderr)
			require.Contains(t, stdout, "an earlier run left under audition")
			require.Empty(t, e.noselect(), "apply --cleanup")
			require.Equal(t, before, e.sources())

			interrupt(syscall.SIGKILL)
			require.NotEmpty(t, e.noselect())
			r, stderr, code := e.apply()
			require.Zero(t, code, stderr)
			require.Contains(t, strings.Join(r.Notes, "\n"), "an earlier run left under audition")
			require.Empty(t, e.noselect(), "the next run")
			require.Equal(t, e.addrs(goodServers...), e.sources(), "and applies as usual")
		})
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a child process's
// output is copied into it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
