package agent_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// fullEnv: chronyd has servers 1..4, all measured and reachable; the
// lists offer 5..8, all good.
func fullEnv(t *testing.T) *env {
	e := newEnv(t)
	e.backend.sources = []daemon.Source{chronydSource(1), chronydSource(2), chronydSource(3), chronydSource(4)}
	e.a.Discoverer = &fakeDiscoverer{list: []int{5, 6, 7, 8}}
	for i := 5; i <= 8; i++ {
		e.prober.results[addr(i)] = good(i)
	}
	return e
}

// networkDown makes every server silent: probes get no reply, and chronyd's
// latest polls went unanswered (bit 0 of the reach register clear).
func networkDown(e *env) func() {
	saved := e.prober.results
	e.prober.results = map[netip.Addr]prober.Result{}
	sources := slices.Clone(e.backend.sources)
	for i := range e.backend.sources {
		s := &e.backend.sources[i]
		s.Reach <<= 1
		m := *s.Measurement
		m.SamplesOK = max(m.SamplesOK-1, 1)
		s.Measurement = &m
	}
	return func() { e.prober.results, e.backend.sources = saved, sources }
}

func TestOutageChangesNothingAndCountsNothing(t *testing.T) {
	e := fullEnv(t)
	restore := networkDown(e)
	for run := 1; run <= 3; run++ {
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, agent.ErrOutage, "run %d", run)
		require.Equal(t, agent.OutcomeOutage, rep.Outcome)
		require.Contains(t, rep.Reason, "none of the 4 servers probed answered, and none of fake's 4 sources answered its latest poll")
		require.Contains(t, rep.Summary(), "nothing was changed or counted")
		require.Len(t, rep.Selected, 4, "the daemon's set, unchanged")
		require.NotEmpty(t, rep.Candidates, "the report still shows what was measured")
		e.clock.Advance(6 * time.Hour)
	}
	require.Empty(t, e.backend.plans, "the daemon was never asked to change")
	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Equal(t, agent.Counters{Runs: 3, Outages: 3}, st.Counters)
	require.Empty(t, st.Scoring.Blacklist)
	require.Empty(t, st.Scoring.Failures)
	require.Empty(t, st.Scoring.Streaks)
	require.Len(t, e.notifier.outcomes, 3)
	require.Equal(t, notify.ErrorOutage, e.notifier.outcomes[0].Failure.Kind)
	require.True(t, e.metrics.runs[2].Outage)
	require.False(t, e.metrics.runs[2].Success)
	require.EqualValues(t, 3, e.metrics.runs[2].Totals.Outages)

	// The network comes back: a healthy no-op, as if nothing happened.
	restore()
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeUnchanged, rep.Outcome)
	require.False(t, e.metrics.runs[3].Outage)
}

func TestOutageKinds(t *testing.T) {
	t.Run("DNS down: every host name unresolved", func(t *testing.T) {
		e := fullEnv(t)
		e.a.Prober = proberFunc(func(ts []prober.Target, opt prober.RunOptions) []prober.Result {
			out := []prober.Result{{Server: "ntp.example.org", Port: 123, Unresolved: true, Err: "resolving: no such host"}}
			for _, t := range ts {
				a := netip.MustParseAddr(t.Name)
				out = append(out, prober.Result{Server: t.Name, Address: a, Port: 123, Skipped: opt.Skip(netip.AddrPortFrom(a, 123))})
			}
			return out
		})
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, agent.ErrOutage)
		require.Contains(t, rep.Reason, "none of the 1 host names resolved")
		require.Empty(t, e.backend.plans)
	})
	t.Run("no route", func(t *testing.T) {
		e := fullEnv(t)
		for i := 5; i <= 8; i++ {
			e.prober.results[addr(i)] = prober.Result{SamplesSent: 4, NoRoute: true, Err: "network is unreachable"}
		}
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, agent.ErrOutage, "even though chronyd's last polls were answered")
		require.Contains(t, rep.Reason, "no route to any of the 4 servers probed")
	})
	t.Run("chronyd still fresh: not an outage, and probe silences do not count", func(t *testing.T) {
		e := fullEnv(t)
		e.prober.results = map[netip.Addr]prober.Result{}
		for run := 0; run < 4; run++ {
			rep, err := e.a.Run(t.Context(), agent.Options{})
			require.NoError(t, err)
			require.Equal(t, agent.OutcomeUnchanged, rep.Outcome)
			require.Contains(t, rep.Notes, "only 0 of 4 servers measured by probe answered: their silence is not counted "+
				"against them (the evidence is about this machine)")
			e.clock.Advance(6 * time.Hour)
		}
		st, _, err := e.a.Store.PeekState()
		require.NoError(t, err)
		require.Empty(t, st.Scoring.Blacklist, "a firewall dropping only our probes blacklists nobody")
		require.Empty(t, st.Scoring.Failures)
	})
}

// A current source chronyd still reaches is not removed because the
// agent's own probe of it failed; one that neither answers is replaced,
// but only when there is a server to replace it with.
func TestSilentMembers(t *testing.T) {
	young := func(i int, reach uint8) daemon.Source {
		a := addr(i)
		return daemon.Source{Address: a, Port: 123, Name: a.String(), ID: a.String(), Reach: reach, HasReach: true}
	}
	t.Run("chronyd reaches it", func(t *testing.T) {
		e := fullEnv(t)
		e.backend.sources[3] = young(4, 0b11) // too few samples: probed
		delete(e.prober.results, addr(4))     // and the probe gets nothing
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.Equal(t, agent.OutcomeUnchanged, rep.Outcome)
		c := report(t, rep, addr(4))
		require.Equal(t, scoring.Selected, c.Verdict)
		require.Contains(t, c.Error, "the probe got no reply, but the daemon reaches it (reach 003)")
	})
	// chronyd's register shows silence in every poll it counts (polls of an
	// outage that has ended, not cleared yet): the probe decides.
	unheard := func(i int) daemon.Source {
		s := chronydSource(i)
		s.Reach = 0
		m := *s.Measurement
		m.SamplesSent, m.SamplesOK, m.ChronydState = 3, 0, scoring.StateNonselectable
		s.Measurement = &m
		return s
	}
	for _, tc := range []struct {
		name, reason, note string
		source             daemon.Source
	}{
		{name: "silent everywhere, replaced at once", source: young(4, 0), reason: "no reply to any of 4 samples"},
		{name: "chronyd hears nothing, nor does the probe", source: unheard(4), reason: "no reply to any of 3 samples",
			note: "no reply to chronyd's last 3 polls, nor to the probe's 4 samples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fullEnv(t)
			e.backend.sources[3] = tc.source
			delete(e.prober.results, addr(4))
			rep, err := e.a.Run(t.Context(), agent.Options{})
			require.NoError(t, err)
			require.Equal(t, agent.OutcomeApplied, rep.Outcome)
			require.Len(t, rep.Removed, 1)
			require.Equal(t, addr(4), rep.Removed[0].Address)
			require.Contains(t, rep.Removed[0].Reason, "replaced by")
			require.Contains(t, rep.Removed[0].Reason, tc.reason)
			require.Len(t, rep.Added, 1)
			require.Contains(t, report(t, rep, addr(4)).Error, tc.note)
		})
	}
	t.Run("chronyd hears nothing, the probe does", func(t *testing.T) {
		e := fullEnv(t)
		e.backend.sources[3] = unheard(4)
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.Contains(t, e.prober.probed, addr(4), "chronyd's silence is checked")
		require.NotContains(t, e.prober.probed, addr(3), "what chronyd hears is not probed")
		require.Equal(t, agent.OutcomeUnchanged, rep.Outcome, "not a hard failure: %+v", rep.Removed)
		c := report(t, rep, addr(4))
		require.Equal(t, scoring.Selected, c.Verdict)
		require.Equal(t, scoring.OriginProbe, c.Origin)
		require.Equal(t, 7, c.SamplesSent, "chronyd's 3 unanswered polls count with the probe's 4")
		require.Equal(t, 4, c.SamplesOK)
		require.Contains(t, c.Error, "chronyd heard nothing in its last 3 polls, the probe got 4 of 4 replies")
	})
	t.Run("silent everywhere, nobody to replace it", func(t *testing.T) {
		e := fullEnv(t)
		e.a.Discoverer = &fakeDiscoverer{}
		e.backend.sources[3] = young(4, 0)
		delete(e.prober.results, addr(4))
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.Equal(t, agent.OutcomeUnchanged, rep.Outcome)
		require.Contains(t, report(t, rep, addr(4)).Reason, "but no eligible server can replace it")
	})
}

// The safety net: a decision that would leave chronyd fewer working
// sources than it had is cut back to what the additions make up for.
func TestGuardKeepsWorkingSources(t *testing.T) {
	e := fullEnv(t)
	for i := 1; i <= 3; i++ {
		m := *e.backend.sources[i-1].Measurement
		m.Stratum = 9 // outside 1..4: the decision removes them at once
		e.backend.sources[i-1].Measurement = &m
	}
	e.a.Discoverer = &fakeDiscoverer{list: []int{5}}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Len(t, rep.Added, 1)
	require.Len(t, rep.Removed, 1, "one removal for the one addition")
	require.Len(t, e.backend.plans[0].Remove, 1)
	require.Len(t, e.backend.plans[0].Selected, 4, "the kept ones stay in the persisted set")
	require.Contains(t, rep.Notes, "kept 2 source(s) the decision would have removed: the daemon would have been left with fewer working sources than before")
}

// Pool members are chronyd's: measured, never removed, never selected.
func TestPoolMembersAreChronyds(t *testing.T) {
	e := fullEnv(t)
	for i := range e.backend.sources[:2] {
		e.backend.sources[i].Pool = "2.debian.pool.ntp.org"
	}
	m := *e.backend.sources[0].Measurement
	m.Stratum = 9
	e.backend.sources[0].Measurement = &m
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	for _, r := range rep.Removed {
		require.NotContains(t, []netip.Addr{addr(1), addr(2)}, r.Address)
	}
	require.NotContains(t, rep.Selected, addr(2).String())
	require.Contains(t, report(t, rep, addr(2)).Reason, "member of chronyd's pool 2.debian.pool.ntp.org")
	require.Len(t, rep.Selected, 4, "the agent's own set is full beside the pool")
}

func report(t *testing.T, rep *agent.Report, a netip.Addr) agent.CandidateReport {
	t.Helper()
	for _, c := range rep.Candidates {
		if c.Address == a {
			return c
		}
	}
	t.Fatalf("%s is not in the report", a)
	return agent.CandidateReport{}
}

// proberFunc is a prober from a function.
type proberFunc func([]prober.Target, prober.RunOptions) []prober.Result

func (f proberFunc) Probe(_ context.Context, ts []prober.Target, opt prober.RunOptions) ([]prober.Result, error) {
	return f(ts, opt), nil
}

// noNTSBackend is a daemon without NTS (timesyncd, classic ntpd).
type noNTSBackend struct{ *fakeBackend }

func (noNTSBackend) CanNTS() bool { return false }

// catalogDiscoverer offers the daemon's sources and the catalog's servers
// known to offer NTS, by address.
type catalogDiscoverer struct{ nts []int }

func (d catalogDiscoverer) Discover(ctx context.Context, cfg discovery.Config, current []discovery.Source) (discovery.Result, error) {
	res, err := (&fakeDiscoverer{}).Discover(ctx, cfg, current)
	for _, i := range d.nts {
		res.Candidates = append(res.Candidates, discovery.Candidate{Name: addr(i).String(), Port: 123,
			Origin: discovery.OriginCatalog, NTS: true})
	}
	return res, err
}

// TestCatalogNTSNeedsADaemonWithNTS: on a daemon that cannot authenticate,
// the catalog's NTS servers are plain servers (probed, written plain); the
// plan asks for no NTS, so the backend has nothing to refuse.
func TestCatalogNTSNeedsADaemonWithNTS(t *testing.T) {
	e := newEnv(t)
	e.a.Backend = noNTSBackend{e.backend}
	e.a.Discoverer = catalogDiscoverer{nts: []int{3, 4}}
	e.prober.results[addr(3)], e.prober.results[addr(4)] = good(3), good(4)
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeApplied, rep.Outcome)
	require.NotContains(t, strings.Join(rep.Notes, "\n"), "known to offer NTS")
	require.Contains(t, e.prober.probed, addr(3), "probed like any plain server")
	require.Len(t, e.backend.plans, 1)
	for _, s := range e.backend.plans[0].Selected {
		require.False(t, s.NTS, "%s asked for with NTS", s.Address)
	}
	require.Len(t, e.backend.plans[0].Add, 2)

	// chronyd (no CanNTS) uses them with NTS: they are pre-flighted.
	e = newEnv(t)
	e.a.Discoverer = catalogDiscoverer{nts: []int{3, 4}}
	rep, err = e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Contains(t, strings.Join(rep.Notes, "\n"), "2 catalog server(s) known to offer NTS are checked and used with it")
}
