package agent

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

func cand(addr, name string, score float64, ok int) CandidateReport {
	return CandidateReport{Candidate: scoring.Candidate{Score: score,
		Measurement: scoring.Measurement{Address: netip.MustParseAddr(addr), Name: name, SamplesOK: ok}}}
}

func TestTrends(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	runs := []Report{
		{RunID: "a", Time: t0, Candidates: []CandidateReport{cand("192.0.2.1", "one.example", 90, 4), cand("192.0.2.2", "two.example", 70, 4)}},
		{RunID: "b", Time: t0.Add(6 * time.Hour), Candidates: []CandidateReport{cand("192.0.2.1", "one.example", 95, 4), cand("192.0.2.2", "two.example", 0, 0)}},
	}
	tr := Trends(runs, "")
	require.Len(t, tr, 2)
	require.Equal(t, "one.example", tr[0].Server, "best latest score first (same verdict)")
	require.Equal(t, []string{"a", "b"}, []string{tr[0].Points[0].RunID, tr[0].Points[1].RunID})
	require.False(t, tr[1].Points[1].Measured)

	require.Len(t, Trends(runs, "TWO"), 1)
	require.Len(t, Trends(runs, "192.0.2.1"), 1)
	require.Empty(t, Trends(runs, "nothing"))
}

func TestSparkline(t *testing.T) {
	require.Equal(t, "▁▅█", Sparkline([]float64{0, 50, 100}, nil, 0, 100))
	require.Equal(t, "█ ▁", Sparkline([]float64{100, 0, -5}, []bool{true, false, true}, 0, 100))
}
