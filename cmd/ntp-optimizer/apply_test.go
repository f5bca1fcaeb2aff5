package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

var goodServers = []string{"good-gps", "good-pps", "good-s2a", "good-s2b"}

// neverAdded are the servers no run may ever add.
var neverAdded = []string{"falseticker", "kod", "unsync"}

// TestApplyConverges starts chronyd on two poor servers and runs apply
// until the set stops changing. The hysteresis rules bound the runs: the
// two empty slots are filled at once (run 1); each poor member is replaced
// after losing two runs in a row, one replacement per run (runs 2 and 3);
// the run after convergence changes nothing. A poor member's figures are
// chronyd's own from run 2 on, and an 8-poll reach register is noisy: the
// lossy server (half its requests dropped) can look good enough for one
// run (6 of 8 answered), which rightly restarts its count of losing runs.
// Each such run allows one run more, and no more than that: a replacement
// always comes on the second losing run in a row. The falseticker, the
// unsynchronised and the rate-limiting server are never added.
func TestApplyConverges(t *testing.T) {
	for _, v := range []chronytest.Version{chronytest.V43, chronytest.V46} {
		t.Run(string(v), func(t *testing.T) {
			e := newApplyEnv(t, v, demoProfiles(), "jittery", "lossy")
			e.waitSelected()
			const maxRuns = 3 // 1 (fill) + 2 replacements, one per run
			converged, reprieves := 0, 0
			for run := 1; converged == 0 && run <= maxRuns+3; run++ {
				r, stderr, code := e.apply()
				require.Zero(t, code, "run %d: %s", run, stderr)
				for _, a := range r.Added {
					require.NotContains(t, neverAdded, e.name(a.Address.String()), "run %d added %s: %s", run, a.Address, a.Reason)
				}
				t.Logf("run %d: %s; added %v removed %v; chronyd: %v", run, r.Outcome,
					e.names(changeAddrs(r.Added)), e.names(changeAddrs(r.Removed)), e.names(toAddrs(e.sources())))
				for _, c := range r.Candidates {
					if n := e.name(c.Address.String()); n == "jittery" || n == "lossy" {
						t.Logf("  %s: %s jitter %.2f ms reach %.2f score %.1f %s: %s", n, c.Origin, c.Jitter*1e3, c.ReachRatio, c.Score, c.Verdict, c.Reason)
						if c.Verdict == scoring.Selected && strings.Contains(c.Reason, " is within ") {
							reprieves++
						}
					}
				}
				replaced := 0
				for _, rm := range r.Removed {
					if !strings.HasPrefix(rm.Reason, "replaced by ") {
						continue // a hard failure (a falseticker, silence) goes at once
					}
					replaced++
					require.Regexp(t, `, (2nd|3rd|\d+th) run in a row$`, rm.Reason, "run %d replaced %s before it lost twice", run, e.name(rm.Address.String()))
				}
				require.LessOrEqual(t, replaced, 1, "run %d: one replacement by score per run", run)
				if run == 1 {
					require.Len(t, r.Added, 2, "the empty slots are filled at once")
					require.Empty(t, r.Removed, "poor members need two losing runs")
				}
				if slices.Equal(e.sources(), e.addrs(goodServers...)) && converged == 0 {
					converged = run
				}
				e.waitSelected()
			}
			require.NotZero(t, converged, "chronyd never reached the four good servers:\n%s", e.d.Chronyc(t, "-n", "sources"))
			require.LessOrEqual(t, converged, maxRuns+reprieves, "%d runs within the margin", reprieves)

			r, stderr, code := e.apply()
			require.Zero(t, code, stderr)
			require.Equal(t, agent.OutcomeUnchanged, r.Outcome, "a run after convergence is a no-op")
			require.False(t, r.Changed)
			require.Empty(t, r.Added)
			require.Empty(t, r.Removed)
			require.Equal(t, e.addrs(goodServers...), e.sources())

			// The sources file holds the set, for restarts.
			file, err := os.ReadFile(filepath.Join(e.d.SourceDir, chronylive.SourcesFileName))
			require.NoError(t, err)
			for _, a := range e.addrs(goodServers...) {
				require.Contains(t, string(file), "server "+a+" port ")
			}
		})
	}
}

func changeAddrs(cs []scoring.Change) []netip.Addr {
	var out []netip.Addr
	for _, c := range cs {
		out = append(out, c.Address)
	}
	return out
}

func toAddrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// TestApplyNoThrash alternates two servers' quality within 10 % every run;
// the set may switch at most once in eight runs.
func TestApplyNoThrash(t *testing.T) {
	ms := time.Millisecond
	fine := func(name, refid string, jitter time.Duration) ntplab.Profile {
		return ntplab.Profile{Name: name, Stratum: 2, RefID: refid, Delay: 5 * ms, Jitter: jitter, RootDelay: 4 * ms}
	}
	profiles := []ntplab.Profile{
		fine("anchor-1", "192.0.2.1", 200*time.Microsecond),
		fine("anchor-2", "192.0.2.2", 200*time.Microsecond),
		fine("a", "192.0.2.3", 600*time.Microsecond),
		fine("b", "192.0.2.4", 1200*time.Microsecond),
	}
	e := newApplyEnv(t, chronytest.V43, profiles, "anchor-1", "anchor-2")
	e.extra = []string{"--set-size", "3", "--min-set-size", "2"}
	e.waitSelected()
	var sets [][]string
	for run := 0; run < 8; run++ {
		if run > 0 { // swap a and b
			pa, pb := e.lab.Server("a").Profile(), e.lab.Server("b").Profile()
			pa.Jitter, pb.Jitter = pb.Jitter, pa.Jitter
			require.NoError(t, e.lab.Server("a").SetProfile(pa))
			require.NoError(t, e.lab.Server("b").SetProfile(pb))
		}
		r, stderr, code := e.apply()
		require.Zero(t, code, "run %d: %s", run, stderr)
		sets = append(sets, e.sources())
		t.Logf("run %d: %s %v", run, r.Outcome, e.names(toAddrs(e.sources())))
		e.waitSelected()
	}
	switches := 0
	for i := 2; i < len(sets); i++ { // run 0 fills the empty slot
		if !slices.Equal(sets[i], sets[i-1]) {
			switches++
		}
	}
	require.LessOrEqual(t, switches, 1, "the set thrashed: %v", sets)
}

// TestApplyRollsBackSilentSources: the new servers answer the probe but
// then rate-limit (like an overloaded server), so chronyd never hears from
// them; the run rolls back and chronyd's set is what it was.
func TestApplyRollsBackSilentSources(t *testing.T) {
	ms := time.Millisecond
	quiet := func(name, refid string) ntplab.Profile {
		return ntplab.Profile{Name: name, Stratum: 1, RefID: refid, Delay: 2 * ms,
			RateLimit: &ntplab.RateLimit{Interval: time.Hour, Burst: 4}}
	}
	profiles := []ntplab.Profile{
		quiet("quiet-1", "GPS"), quiet("quiet-2", "PPS"),
		{Name: "old-1", Stratum: 3, RefID: "192.0.2.1", Delay: 20 * ms, Jitter: 2 * ms, RootDelay: 30 * ms},
		{Name: "old-2", Stratum: 3, RefID: "192.0.2.2", Delay: 25 * ms, Jitter: 2 * ms, RootDelay: 30 * ms},
	}
	e := newApplyEnv(t, chronytest.V43, profiles, "old-1", "old-2")
	e.waitSelected()
	before := e.sources()
	r, stderr, code := e.apply("--answer-timeout", "3s")
	require.Equal(t, exitRolledBack, code, stderr)
	require.True(t, r.RolledBack)
	require.Equal(t, agent.OutcomeRolledBack, r.Outcome)
	require.Contains(t, r.Reason, "did not answer within 3s")
	require.Equal(t, before, e.sources(), "chronyd's set is the set before the run")
	_, err := os.Stat(filepath.Join(e.d.SourceDir, chronylive.SourcesFileName))
	require.True(t, os.IsNotExist(err), "no sources file after a rollback")
}

// TestApplyChronydKilled kills chronyd while the run measures; the run
// fails cleanly, and once chronyd is back the next run converges with the
// state and sources file intact.
func TestApplyChronydKilled(t *testing.T) {
	e := newApplyEnv(t, chronytest.V43, demoProfiles(), "jittery", "lossy")
	e.waitSelected()
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(200 * time.Millisecond) // the probe takes about 0.5 s
		e.d.Kill()
	}()
	r, stderr, code := e.apply()
	<-done
	require.Equal(t, exitFailure, code, "stderr: %s", stderr)
	require.Equal(t, agent.OutcomeFailed, r.Outcome)
	require.Contains(t, r.Reason, "chronyd")
	st := readState(t, e.state)
	require.Equal(t, 1, st.Counters.Failures)
	require.Empty(t, st.Managed, "nothing was added")

	e.d.Restart(t)
	e.waitSelected()
	r, stderr, code = e.apply()
	require.Zero(t, code, stderr)
	// The failed run's measurements count: the lossy member has lost two
	// runs in a row now and may already go, besides the two empty slots.
	require.GreaterOrEqual(t, len(r.Added), 2)
	st = readState(t, e.state)
	require.Equal(t, 2, st.Counters.Runs)
	require.Len(t, st.Managed, len(r.Added))
	file, err := os.ReadFile(filepath.Join(e.d.SourceDir, chronylive.SourcesFileName))
	require.NoError(t, err)
	require.Equal(t, len(r.Selected), strings.Count(string(file), "\nserver "))
}

func readState(t *testing.T, dir string) agent.State {
	t.Helper()
	st, _, err := (&agent.Store{Dir: dir}).PeekState()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "state.json"))
	require.NoError(t, err, "state.json exists and parsed")
	return st
}

// TestApplyDurable: a chronyd restart comes back with the selected set
// (from ntp-optimizer.sources), and `reload sources` afterwards neither
// duplicates nor drops a source.
func TestApplyDurable(t *testing.T) {
	e := newApplyEnv(t, chronytest.V43, demoProfiles()[:4], "good-gps")
	e.waitSelected()
	r, stderr, code := e.apply()
	require.Zero(t, code, stderr)
	require.Equal(t, e.addrs(goodServers...), e.sources())
	require.Len(t, r.Selected, 4)

	c := e.d.Client(t)
	ctx := t.Context()
	require.NoError(t, c.ReloadSources(ctx))
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, e.addrs(goodServers...), e.sources(), "reload after a live change: no duplicate, no loss")

	e.d.Restart(t)
	require.Equal(t, e.addrs(goodServers...), e.sources(), "a restart comes back with the selected set")
	require.NoError(t, e.d.Client(t).ReloadSources(ctx))
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, e.addrs(goodServers...), e.sources(), "reload after a restart: no duplicate, no loss")
}

// TestApplyDryRun changes nothing: not chronyd, not a file, not the state.
func TestApplyDryRun(t *testing.T) {
	e := newApplyEnv(t, chronytest.V43, demoProfiles(), "jittery", "lossy")
	e.waitSelected()
	r, stderr, code := e.apply() // a real run first, so the state exists
	require.Zero(t, code, stderr)
	e.waitSelected()
	before, stateBefore := e.sources(), snapshot(t, e.state)
	fileBefore, _ := os.ReadFile(filepath.Join(e.d.SourceDir, chronylive.SourcesFileName))

	out, stderr, code := runSerial(t, "history", "--state-dir", e.state)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "1 runs from")
	require.Contains(t, out, e.addrs("good-gps")[0])
	require.Regexp(t, `\d/1\s+selected`, out)

	r, stderr, code = e.apply("--dry-run")
	require.Zero(t, code, stderr)
	require.True(t, r.DryRun)
	require.Equal(t, agent.OutcomeDryRun, r.Outcome)
	require.NotEmpty(t, r.Candidates)
	require.Equal(t, before, e.sources())
	require.Equal(t, stateBefore, snapshot(t, e.state))
	fileAfter, _ := os.ReadFile(filepath.Join(e.d.SourceDir, chronylive.SourcesFileName))
	require.Equal(t, fileBefore, fileAfter)
}

// snapshot is every file under dir with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[strings.TrimPrefix(p, dir)] = string(b)
		return err
	}))
	return out
}

// TestApplyBadInput: names that could inject into a file are refused with
// where they came from, before anything is touched; a corrupt state file
// is moved aside; an unwritable state directory does not stop the change
// but the run exits non-zero.
func TestApplyBadInput(t *testing.T) {
	e := newApplyEnv(t, chronytest.V43, demoProfiles()[:4], "good-gps")
	e.waitSelected()
	before := e.sources()

	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("192.0.2.1\nevil#name\n"), 0o644))
	_, stderr, code := e.apply("--servers-file", bad)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, bad+":2")

	conf := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(conf, []byte("servers = [\"ok.example\", \"pool.ntp.org\\nrestrict default\"]\n"), 0o600))
	out, stderr, code := runSerial(t, append([]string{"--config", conf}, e.args()...)...)
	require.Equal(t, exitUsage, code, out)
	require.Contains(t, stderr, "servers[1]")
	require.Equal(t, before, e.sources(), "nothing reached chronyd")
	_, err := os.Stat(filepath.Join(e.d.SourceDir, chronylive.SourcesFileName))
	require.True(t, os.IsNotExist(err), "nothing reached a file")

	// A corrupt state file is moved aside with a warning; the run goes on.
	require.NoError(t, os.MkdirAll(e.state, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(e.state, "state.json"), []byte("{garbage"), 0o640))
	r, stderr, code := e.apply()
	require.Zero(t, code, stderr)
	require.Contains(t, strings.Join(r.Warnings, "\n"), "moved aside")
	matches, _ := filepath.Glob(filepath.Join(e.state, "state.json.corrupt-*"))
	require.Len(t, matches, 1)
	readState(t, e.state)

	// An unwritable state directory with a usable lock directory: the
	// change is applied, with a warning and exit code 5. (Without any lock
	// the run changes nothing: hardening_state_test.go.)
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	e2 := newApplyEnv(t, chronytest.V43, demoProfiles()[:4], "good-gps")
	e2.state = filepath.Join(blocker, "state")
	e2.extra = append(e2.extra, "--lock-dir", t.TempDir())
	e2.waitSelected()
	r, stderr, code = e2.apply()
	require.Equal(t, exitStateWarning, code, stderr)
	require.Equal(t, agent.OutcomeApplied, r.Outcome)
	require.Equal(t, e2.addrs(goodServers...), e2.sources())
	require.NotEmpty(t, r.Warnings)
}

// TestApplyNotifiesAndExportsMetrics: a change is posted to the webhook and
// the metrics file is written; a later failure is posted as an error.
func TestApplyNotifiesAndExportsMetrics(t *testing.T) {
	var mu sync.Mutex
	var posts []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		posts = append(posts, body)
		mu.Unlock()
	}))
	defer hook.Close()

	e := newApplyEnv(t, chronytest.V43, demoProfiles()[:4], "good-gps")
	e.waitSelected()
	prom := filepath.Join(t.TempDir(), "ntp_optimizer.prom")
	e.extra = []string{"--webhook", "--webhook-url", hook.URL + "/hook/secret", "--metrics-file", prom}
	_, stderr, code := e.apply()
	require.Zero(t, code, stderr)

	mu.Lock()
	require.Len(t, posts, 1, "one message for the change")
	text, _ := posts[0]["text"].(string)
	mu.Unlock()
	require.Contains(t, text, e.addrs("good-pps")[0])

	m, err := os.ReadFile(prom)
	require.NoError(t, err)
	require.Contains(t, string(m), "ntp_optimizer_server_score{")
	require.Contains(t, string(m), "ntp_optimizer_changes_total 1")
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(string(m))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}

	// chronyd gone: the failure is posted too.
	e.d.Kill()
	_, _, code = e.apply()
	require.Equal(t, exitFailure, code)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, posts, 2)
	require.Contains(t, posts[1]["text"], "fail")
}
