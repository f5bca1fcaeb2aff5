package agent_test

import (
	"bytes"
	"math"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/metrics"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// TestRunMetricsEveryCandidate: the metrics of a run have every candidate
// address, answered or not, with its verdict and the class of its
// failures, and the set's size beside the configured ones.
func TestRunMetricsEveryCandidate(t *testing.T) {
	e := newEnv(t)
	e.a.Discoverer = &fakeDiscoverer{list: []int{3, 4, 5, 6, 7, 8, 9}}
	liar := good(7)
	liar.Offset = 2500 * ms // far outside the majority
	e.prober.results[addr(7)] = liar
	unsynced := good(8)
	unsynced.Stratum, unsynced.Unsynchronized = 0, true // answers with stratum 0
	e.prober.results[addr(8)] = unsynced
	e.prober.results[addr(9)] = prober.Result{SamplesSent: 4, SamplesOK: 1, Reach: 0.25, KoD: "RATE", RateLimited: true,
		Delay: 5 * ms, RootDelay: 10 * ms, RootDispersion: ms, Stratum: 0}

	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Len(t, e.metrics.runs, 1)
	run := e.metrics.runs[0]
	require.True(t, run.SetKnown)
	require.Equal(t, 4, run.SetSize)
	require.Equal(t, 3, run.MinSetSize)

	byAddr := map[netip.Addr]metrics.Server{}
	for _, s := range run.Servers {
		byAddr[netip.MustParseAddr(s.Address)] = s
	}
	require.Len(t, byAddr, len(rep.Candidates), "every candidate, answered or not")

	silent := byAddr[addr(6)]
	require.False(t, silent.Up)
	require.Zero(t, silent.Reach)
	require.True(t, math.IsNaN(silent.Offset) && math.IsNaN(silent.Delay) && math.IsNaN(silent.Jitter))
	require.Equal(t, "rejected", silent.Verdict)
	require.Equal(t, metrics.ReasonNoReply, silent.ReasonClass)

	require.Equal(t, metrics.ReasonFalseticker, byAddr[addr(7)].ReasonClass)
	require.Equal(t, "rejected", byAddr[addr(7)].Verdict)
	require.InDelta(t, 2.5, byAddr[addr(7)].Offset, 1e-9, "server minus local, as measured")

	require.Equal(t, metrics.ReasonUnsynchronised, byAddr[addr(8)].ReasonClass)
	require.True(t, byAddr[addr(8)].Up)
	require.Zero(t, byAddr[addr(8)].Stratum)

	kod := byAddr[addr(9)]
	require.Equal(t, metrics.ReasonKoD, kod.ReasonClass)
	require.True(t, kod.Up)
	require.True(t, math.IsNaN(kod.Jitter), "one sample has no jitter")

	good1 := byAddr[addr(1)]
	require.True(t, good1.Up)
	require.True(t, good1.Selected)
	require.Equal(t, "selected", good1.Verdict)
	require.Empty(t, good1.ReasonClass)

	// Written out: the stratum-0 answer is a 0, the silent server has
	// series (up 0, reach 0) but no offset.
	var buf bytes.Buffer
	require.NoError(t, metrics.Write(&buf, run))
	out := buf.String()
	series := func(name string, a netip.Addr, rest string) string {
		return name + `{address="` + a.String() + `",` + rest
	}
	require.Contains(t, out, series("ntp_optimizer_server_stratum", addr(8), ""))
	require.Contains(t, out, `source_address="`+addr(8).String()+`",source_name="`+addr(8).String()+`"} 0`+"\n")
	require.Contains(t, out, series("ntp_optimizer_server_up", addr(6), ""))
	require.Contains(t, out, series("ntp_optimizer_server_reach_ratio", addr(6), ""))
	require.NotContains(t, out, series("ntp_optimizer_server_offset_seconds", addr(6), ""))
	require.Contains(t, out, `reason_class="falseticker",server="`+addr(7).String())
	require.Contains(t, out, "ntp_optimizer_selected_sources 4\n")
	require.Contains(t, out, "ntp_optimizer_min_set_size 3\n")
}

// TestRunMetricsSetUnknown: a run that found nothing usable writes no
// set size (not a 0 the alerts would take for an empty set).
func TestRunMetricsSetUnknown(t *testing.T) {
	e := newEnv(t)
	e.backend.sources = nil
	for i := 3; i <= 6; i++ {
		r := good(i)
		r.Stratum, r.Unsynchronized = 16, true
		e.prober.results[addr(i)] = r
	}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, agent.ErrNoUsable)
	require.Equal(t, agent.OutcomeNoUsable, rep.Outcome)
	require.Len(t, e.metrics.runs, 1)
	run := e.metrics.runs[0]
	require.False(t, run.SetKnown)
	require.Len(t, run.Servers, 4, "the rejected candidates still have series")
	for _, s := range run.Servers {
		require.Equal(t, "rejected", s.Verdict, s.Address)
		require.Equal(t, metrics.ReasonUnsynchronised, s.ReasonClass, s.Address)
		require.Equal(t, 16, s.Stratum, s.Address)
	}
}

// TestRunMetricsRolledBack: a rolled-back run says so, and its set (the
// plan's, not the daemon's) is not written as the set's size.
func TestRunMetricsRolledBack(t *testing.T) {
	e := newEnv(t)
	e.backend.apply = func(daemon.Plan) (daemon.Applied, error) {
		return daemon.Applied{RolledBack: true, Reason: "new sources did not answer within 20s"}, nil
	}
	_, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, daemon.ErrRolledBack)
	require.Len(t, e.metrics.runs, 1)
	run := e.metrics.runs[0]
	require.True(t, run.RolledBack)
	require.False(t, run.Success)
	require.False(t, run.SetKnown)
	require.EqualValues(t, 1, run.Totals.Rollbacks)
}
