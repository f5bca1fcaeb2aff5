package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// chronydView is chronyd's sources (NTP only, with statistics) and its
// tracking report, read together.
type chronydView struct {
	srcs []chronyctl.Source
	tr   chronyctl.Tracking
	err  error
}

// view reads chronyd's sources and tracking report.
func (e *applyEnv) view() chronydView {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A client of its own, closed at once: the waits call this often,
	// and chronyd may have been restarted since the last call.
	c, err := chronyctl.Dial(ctx, chronyctl.Config{Socket: e.d.Socket})
	if err != nil {
		return chronydView{err: err}
	}
	defer c.Close()
	var v chronydView
	all, err := c.Sources(ctx)
	if err != nil {
		return chronydView{err: err}
	}
	for _, s := range all {
		if s.Mode != chronyctl.ModeRefclock {
			v.srcs = append(v.srcs, s)
		}
	}
	v.tr, v.err = c.Tracking(ctx)
	return v
}

// source returns chronyd's source at addr.
func (v chronydView) source(addr string) (chronyctl.Source, bool) {
	for _, s := range v.srcs {
		if s.Address.String() == addr {
			return s, true
		}
	}
	return chronyctl.Source{}, false
}

// working counts the sources chronyd reaches and does not mark 'x'.
func (v chronydView) working() int {
	n := 0
	for _, s := range v.srcs {
		if s.Reach != 0 && s.State != chronyctl.StateFalseticker {
			n++
		}
	}
	return n
}

// allFresh says every source answered its latest poll (reach bit 0);
// allStale that none did.
func (v chronydView) allFresh() bool {
	return len(v.srcs) > 0 && !slices.ContainsFunc(v.srcs, func(s chronyctl.Source) bool { return s.Reach&1 == 0 })
}

func (v chronydView) allStale() bool {
	return !slices.ContainsFunc(v.srcs, func(s chronyctl.Source) bool { return s.Reach&1 != 0 })
}

// addrs is the sources' addresses, sorted.
func (v chronydView) addrs() []string {
	var out []string
	for _, s := range v.srcs {
		out = append(out, s.Address.String())
	}
	slices.Sort(out)
	return out
}

// waitFor polls chronyd every 100 ms until ok holds, failing the test
// with what chronyc shows after timeout.
func (e *applyEnv) waitFor(what string, timeout time.Duration, ok func(chronydView) bool) chronydView {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := e.view()
		if v.err == nil && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("chronyd: %s: not within %v (%v):\n%s\n%s", what, timeout, v.err,
				e.d.Chronyc(e.t, "-n", "sources"), e.d.Chronyc(e.t, "tracking"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setSilent makes every lab server silent (true) or answer again (false).
func (e *applyEnv) setSilent(silent bool) {
	e.t.Helper()
	for _, s := range e.lab.Servers() {
		p := s.Profile()
		p.Silent = silent
		require.NoError(e.t, s.SetProfile(p))
	}
}

// probeJSON runs `probe --json` on the servers file.
func (e *applyEnv) probeJSON() []agent.CandidateReport {
	e.t.Helper()
	out, stderr, code := runSerial(e.t, "probe", "--json", "--servers-file", e.servers,
		"--spacing", "150ms", "--samples", "4")
	require.Zero(e.t, code, stderr)
	var rows []agent.CandidateReport
	jsonList(e.t, out, "probe", "candidates", &rows)
	return rows
}

// byName indexes candidates by lab name.
func (e *applyEnv) byName(cs []agent.CandidateReport) map[string]agent.CandidateReport {
	out := map[string]agent.CandidateReport{}
	for _, c := range cs {
		out[e.name(c.Address.String())] = c
	}
	return out
}

// TestMixedMeasurementOneSign: chronyd's clock is 30 ms off the system
// clock (chronyd -x synchronises its own time to servers that are all 30 ms
// ahead of the host, and leaves the system clock alone). The same servers
// measured directly (probe, against the system clock) and through
// chronyd's statistics (apply --dry-run, origin "chronyd") must give the
// same offsets in the one convention, server minus system clock: +30 ms
// for the good ones, +180 ms for the falseticker, and the same verdicts:
// the falseticker is flagged whichever path measured it (chronyd's own
// source in the first case, probed only in the second), no good server is.
func TestMixedMeasurementOneSign(t *testing.T) {
	ms := time.Millisecond
	const (
		goodOffset  = 0.030
		falseOffset = 0.180
	)
	good := func(name string, stratum int, refid string, delay, jitter time.Duration) ntplab.Profile {
		return ntplab.Profile{Name: name, Truth: ntplab.TruthGood, Stratum: stratum, RefID: refid,
			Offset: 30 * ms, Delay: delay, Jitter: jitter, RootDelay: time.Duration(stratum-1) * 5 * ms}
	}
	profiles := []ntplab.Profile{
		good("good-gps", 1, "GPS", 2*ms, 100*time.Microsecond),
		good("good-pps", 1, "PPS", 3*ms, 150*time.Microsecond),
		good("good-s2a", 2, "192.0.2.1", 4*ms, 200*time.Microsecond),
		good("good-s2b", 2, "198.51.100.7", 5*ms, 200*time.Microsecond),
		{Name: "falseticker", Truth: ntplab.TruthFalseticker, Stratum: 1, RefID: "GPS",
			Offset: 180 * ms, Delay: 2 * ms, Jitter: 50 * time.Microsecond},
	}
	e := newApplyEnv(t, chronytest.V43, profiles, "good-gps", "good-pps", "good-s2a", "falseticker")
	inChronyd := e.addrs("good-gps", "good-pps", "good-s2a", "falseticker")
	ft := e.addrs("falseticker")[0]

	// Synchronised: a reference, the falseticker marked 'x', chronyd's time
	// 30 ms ahead of the system clock, and enough samples of every source
	// for the agent to use chronyd's statistics.
	v := e.waitFor("synchronised 30 ms ahead of the system clock", 30*time.Second, func(v chronydView) bool {
		if !v.tr.Address.IP.IsValid() || math.Abs(v.tr.CurrentCorrection-goodOffset) > 0.002 || len(v.srcs) != 4 {
			return false
		}
		for _, s := range v.srcs {
			if int(s.Stats.Samples) < 6 || (s.Address.String() == ft) != (s.State == chronyctl.StateFalseticker) {
				return false
			}
		}
		return true
	})
	t.Logf("tracking: reference %s, current correction %+.6f s (chronyc: %s)", e.name(v.tr.Address.String()),
		v.tr.CurrentCorrection, systemTimeLine(e.d.Chronyc(t, "tracking")))
	// chronyc's wording fixes the sign: a positive correction is a system
	// clock slow of chronyd's (NTP) time.
	require.Contains(t, e.d.Chronyc(t, "tracking"), "seconds slow of NTP time")
	for _, s := range v.srcs {
		t.Logf("  chronyd %-11s %c est_offset %+.6f s std dev %.6f s samples %d", e.name(s.Address.String()),
			s.State.Char(), s.Stats.EstOffset, s.Stats.StdDev, s.Stats.Samples)
	}

	check := func(phase string, wantChronyd []string) {
		t.Logf("%s:", phase)
		probed := e.byName(e.probeJSON())
		r, stderr, code := e.apply("--dry-run")
		require.Zero(t, code, "%s: %s", phase, stderr)
		require.Equal(t, agent.OutcomeDryRun, r.Outcome)
		mixed := e.byName(r.Candidates)
		require.Len(t, probed, len(profiles))
		require.Len(t, mixed, len(profiles))
		var origins []string
		for _, p := range profiles {
			name := p.Name
			pc, mc := probed[name], mixed[name]
			require.Equal(t, scoring.OriginProbe, pc.Origin, "%s: %s", phase, name)
			addr := e.addrs(name)[0]
			if slices.Contains(wantChronyd, addr) {
				require.Equal(t, scoring.OriginChronyd, mc.Origin, "%s: %s: chronyd's statistics are used for its source", phase, name)
				origins = append(origins, name)
			} else {
				require.Equal(t, scoring.OriginProbe, mc.Origin, "%s: %s", phase, name)
			}
			want := goodOffset
			if name == "falseticker" {
				want = falseOffset
			}
			tol := 0.002 + 3*(pc.Jitter+mc.Jitter)
			t.Logf("  %-11s probe %+.6f s (jitter %.6f) | apply %-7s %+.6f s (jitter %.6f) | diff %+.6f (tolerance %.6f) | %s/%s falseticker %v/%v",
				name, pc.Offset, pc.Jitter, mc.Origin, mc.Offset, mc.Jitter, mc.Offset-pc.Offset, tol,
				pc.Verdict, mc.Verdict, pc.Falseticker, mc.Falseticker)
			require.InDelta(t, want, pc.Offset, 0.003, "%s probed: server minus system clock", name)
			require.InDelta(t, want, mc.Offset, 0.003, "%s via %s: server minus system clock", name, mc.Origin)
			require.InDelta(t, pc.Offset, mc.Offset, tol, "%s: %s: the two paths disagree", phase, name)
			require.Equal(t, name == "falseticker", pc.Falseticker, "%s probed: %s", name, pc.Reason)
			require.Equal(t, name == "falseticker", mc.Falseticker, "%s via %s: %s", name, mc.Origin, mc.Reason)
			require.Equal(t, pc.Verdict, mc.Verdict, "%s: %s: %s | %s", phase, name, pc.Reason, mc.Reason)
			if name == "falseticker" {
				require.Equal(t, scoring.Rejected, mc.Verdict)
			} else {
				require.NotEqual(t, scoring.Rejected, mc.Verdict, "%s: %s", name, mc.Reason)
			}
		}
		require.Len(t, origins, len(wantChronyd), "%s: chronyd-measured: %v", phase, origins)
	}

	check("the falseticker is chronyd's source", inChronyd)

	// The falseticker leaves chronyd: now only the probe measures it, and
	// the intersection with chronyd's (converted) offsets must flag it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := chronyctl.ParseAddr(ft)
	require.NoError(t, err)
	require.NoError(t, e.d.Client(t).DeleteSource(ctx, a))
	goods := e.addrs("good-gps", "good-pps", "good-s2a")
	e.waitFor("synchronised on the good servers alone", 15*time.Second, func(v chronydView) bool {
		return slices.Equal(v.addrs(), goods) && v.tr.Address.IP.IsValid() &&
			math.Abs(v.tr.CurrentCorrection-goodOffset) < 0.002
	})
	check("the falseticker is only in the servers list", goods)
}

// systemTimeLine is chronyc tracking's "System time" line.
func systemTimeLine(tracking string) string {
	for _, l := range lines(tracking) {
		if strings.HasPrefix(l, "System time") {
			return strings.TrimSpace(l)
		}
	}
	return "?"
}

// TestApplyOutageRealDaemon: chronyd uses the four good servers of eight
// listed; then every server falls silent (this machine's network is
// down). Once chronyd's latest poll of every source went unanswered, three
// runs in a row are outages: exit 6, nothing changed at chronyd or in the
// sources file, and nothing counted in the state (no blacklist entry, no
// silence, no failure; the hysteresis state exactly as before). When the
// servers answer again and chronyd hears from them, the next run is a
// no-op on the same set.
func TestApplyOutageRealDaemon(t *testing.T) {
	e := newApplyEnv(t, chronytest.V43, demoProfiles()[:8], goodServers...)
	require.Len(t, e.lab.Servers(), 8)
	want := e.addrs(goodServers...)
	e.waitSelected()
	for run := 1; ; run++ {
		r, stderr, code := e.apply()
		require.Zero(t, code, "run %d: %s", run, stderr)
		require.Equal(t, want, e.sources(), "run %d", run)
		t.Logf("before the outage, run %d: %s", run, r.Outcome)
		if r.Outcome == agent.OutcomeUnchanged {
			break
		}
		require.Less(t, run, 3, "no no-op run")
		e.waitSelected()
	}
	stBefore := readState(t, e.state)
	require.Empty(t, stBefore.Scoring.Blacklist)
	require.Empty(t, stBefore.Scoring.Failures)
	fileBefore := snapshot(t, e.d.SourceDir)

	e.setSilent(true)
	start := time.Now()
	e.waitFor("no source answered its latest poll", 15*time.Second, chronydView.allStale)
	t.Logf("servers silent: chronyd's latest polls unanswered after %.1f s", time.Since(start).Seconds())
	for run := 1; run <= 3; run++ {
		r, stderr, code := e.apply()
		t.Logf("outage run %d: exit %d, %s: %s", run, code, r.Outcome, r.Reason)
		require.Equal(t, exitOutage, code, "outage run %d: %s", run, stderr)
		require.Equal(t, agent.OutcomeOutage, r.Outcome)
		require.Contains(t, r.Reason, "answered its latest poll", "the probes and chronyd both heard nothing")
		require.False(t, r.Changed)
		require.Empty(t, r.Added)
		require.Empty(t, r.Removed)
		require.Equal(t, want, e.sources(), "outage run %d changed chronyd's set", run)
		require.Equal(t, fileBefore, snapshot(t, e.d.SourceDir), "outage run %d changed the sources file", run)
		st := readState(t, e.state)
		require.Empty(t, st.Scoring.Blacklist, "outage run %d", run)
		require.Empty(t, st.Scoring.Failures, "outage run %d", run)
		require.Zero(t, st.Counters.Failures, "outage run %d", run)
		require.Equal(t, run, st.Counters.Outages)
		require.Equal(t, stBefore.Scoring, st.Scoring, "outage run %d counted toward blacklist or hysteresis", run)
	}

	e.setSilent(false)
	start = time.Now()
	e.waitFor("every source answered its latest poll", 15*time.Second, chronydView.allFresh)
	t.Logf("servers back: chronyd's latest polls answered after %.1f s", time.Since(start).Seconds())
	r, stderr, code := e.apply()
	t.Logf("after the outage: exit %d, %s", code, r.Outcome)
	require.Zero(t, code, stderr)
	require.Equal(t, agent.OutcomeUnchanged, r.Outcome, "%+v", r.Removed)
	require.Equal(t, want, e.sources())
	st := readState(t, e.state)
	require.Empty(t, st.Scoring.Blacklist)
	require.Empty(t, st.Scoring.Failures)
}

// outcomeExit is the exit code each outcome must come with.
var outcomeExit = map[agent.Outcome]int{
	agent.OutcomeApplied: exitOK, agent.OutcomeUnchanged: exitOK, agent.OutcomeOutage: exitOutage,
	agent.OutcomeRolledBack: exitRolledBack, agent.OutcomeNoUsable: exitNoUsable,
}

// TestThirtyRunsRealDaemon is thirty timer runs compressed into a minute
// against a real chronyd: it starts on two poor servers, converges, sits
// through an outage (every server silent for four runs) and a chronyd
// restart (the sources file must bring the set back). After every run the
// safety invariant holds: the sources chronyd reaches and does not mark
// 'x' are at least as many as before the run (up to set_size), never
// fewer than min_set_size while that many worked; while the servers are
// silent chronyd's set does not change at all; no falseticker,
// unsynchronised or rate-limiting server is ever added; and the exit code
// is the outcome's.
func TestThirtyRunsRealDaemon(t *testing.T) {
	const (
		runs       = 30
		setSize    = 4
		minSetSize = 3
		silentFrom = 10 // the servers are silent from this run...
		silentTo   = 13 // ...to this one
		restartAt  = 20 // chronyd restarts before this run
	)
	ms := time.Millisecond
	profiles := append(demoProfiles(), ntplab.Profile{Name: "good-spare", Truth: ntplab.TruthGood, Stratum: 2,
		RefID: "203.0.113.77", Delay: 8 * ms, Jitter: 300 * time.Microsecond, RootDelay: 8 * ms})
	e := newApplyEnv(t, chronytest.V43, profiles, "jittery", "lossy")
	never := e.addrs(neverAdded...)
	e.waitSelected()

	changes, outages, violations, afterOutage := 0, 0, 0, 0
	violate := func(run int, format string, a ...any) {
		t.Helper()
		violations++
		t.Errorf("run %d: %s\n%s", run, fmt.Sprintf(format, a...), e.d.Chronyc(t, "-n", "sources"))
	}
	for run := 1; run <= runs; run++ {
		switch run {
		case silentFrom:
			e.setSilent(true)
		case silentFrom + 1:
			// From here chronyd's latest polls go unanswered too: outages.
			e.waitFor("no source answered its latest poll", 15*time.Second, chronydView.allStale)
		case silentTo + 1:
			e.setSilent(false)
		case restartAt:
			set := e.sources()
			e.d.Restart(t)
			back := e.sources()
			for _, a := range set {
				if !slices.Contains(back, a) {
					violate(run, "chronyd came back from its restart without %s (%s): %v", a, e.name(a), back)
				}
			}
			t.Logf("chronyd restarted: %v", e.names(toAddrs(back)))
		}
		silent := run >= silentFrom && run <= silentTo
		before := e.view()
		require.NoError(t, before.err)
		r, stderr, code := e.apply()
		after := e.view()
		require.NoError(t, after.err)

		want, known := outcomeExit[r.Outcome]
		switch {
		case !known:
			violate(run, "outcome %q (exit %d): %s %s", r.Outcome, code, r.Reason, stderr)
		case code != want:
			violate(run, "outcome %q but exit %d (want %d): %s", r.Outcome, code, want, stderr)
		}
		if r.Outcome == agent.OutcomeOutage {
			outages++
		}
		if r.Changed {
			changes++
			if run > silentTo && run < restartAt {
				afterOutage++
			}
		}
		if silent && before.allStale() && r.Outcome != agent.OutcomeOutage {
			violate(run, "nothing answered, yet the outcome is %q", r.Outcome)
		}
		if !silent && r.Outcome == agent.OutcomeOutage {
			violate(run, "an outage while the servers answer: %s", r.Reason)
		}
		for _, a := range r.Added {
			if slices.Contains(never, a.Address.String()) {
				violate(run, "added %s (%s): %s", e.name(a.Address.String()), a.Address, a.Reason)
			}
		}
		for _, a := range after.addrs() {
			if slices.Contains(never, a) {
				violate(run, "chronyd uses %s (%s)", e.name(a), a)
			}
		}
		bw, aw := before.working(), after.working()
		switch {
		case silent:
			if !slices.Equal(before.addrs(), after.addrs()) {
				violate(run, "chronyd's set changed while nothing answered: %v -> %v",
					e.names(toAddrs(before.addrs())), e.names(toAddrs(after.addrs())))
			}
		case aw < min(bw, setSize):
			violate(run, "working sources %d -> %d", bw, aw)
		case bw >= minSetSize && aw < minSetSize:
			violate(run, "fewer than min_set_size working sources: %d -> %d", bw, aw)
		}
		if !r.Changed && !slices.Equal(before.addrs(), after.addrs()) {
			violate(run, "%s run changed chronyd's set: %v -> %v", r.Outcome, before.addrs(), after.addrs())
		}
		t.Logf("run %2d: exit %d %-9s working %d -> %d, added %v removed %v; chronyd: %v", run, code, r.Outcome,
			bw, aw, e.names(changeAddrs(r.Added)), e.names(changeAddrs(r.Removed)), e.names(toAddrs(after.addrs())))
		for _, c := range r.Removed {
			t.Logf("        removed %s: %s", e.name(c.Address.String()), c.Reason)
		}
		if run >= silentFrom && run < restartAt { // every candidate's measurement and reason, chronyd's view
			t.Logf("chronyd after run %d:\n%s", run, e.d.Chronyc(t, "-n", "sources"))
			for _, c := range r.Candidates {
				t.Logf("        %-11s %-7s reach %d/%d %.2f score %.1f %s: %s", e.name(c.Address.String()), c.Origin, c.SamplesOK, c.SamplesSent, c.ReachRatio, c.Score, c.Verdict, c.Reason)
			}
		}
		time.Sleep(200 * time.Millisecond) // the timer's spacing, compressed
	}
	// Changes right after the outage are among good servers: chronyd's
	// reach registers still show the polls missed during the outage while
	// a directly probed standby shows 4/4 (reported, not a safety
	// violation).
	t.Logf("summary: %d runs, %d changes (%d in the runs between the outage and the restart), %d outage runs, %d violations",
		runs, changes, afterOutage, outages, violations)
	require.GreaterOrEqual(t, outages, silentTo-silentFrom, "the runs after chronyd stopped hearing are outages")
	require.Zero(t, afterOutage, "the outage left no trace: no member lost a run to the reach it cost")

	final := e.sources()
	require.Len(t, final, setSize, "%v", e.names(toAddrs(final)))
	for _, a := range final {
		require.True(t, strings.HasPrefix(e.name(a), "good-"), "the final set holds %s", e.name(a))
	}
	st := readState(t, e.state)
	require.Empty(t, st.Scoring.Blacklist, "no server earned a blacklist entry")
	require.Zero(t, st.Counters.Failures)
}
