package scoring

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// band is where the seed puts a sub-score: excellent > 90, good 75–90,
// acceptable 60–75, poor < 60.
type band int

const (
	excellent band = iota
	goodBand
	acceptable
	poor
)

func (b band) String() string { return [...]string{"excellent", "good", "acceptable", "poor"}[b] }

// requireBand checks score against the seed's score range for b. The
// ranges share their edges (75 is good and acceptable); a score exactly on
// one passes for either neighbour.
func requireBand(t *testing.T, b band, score float64, msg string) {
	t.Helper()
	r := [...]struct {
		lo, hi         float64
		openLo, openHi bool
	}{
		excellent:  {90, 100, true, false},
		goodBand:   {75, 90, false, false},
		acceptable: {60, 75, false, false},
		poor:       {0, 60, false, true},
	}[b]
	in := (score > r.lo || !r.openLo && score == r.lo) && (score < r.hi || !r.openHi && score == r.hi)
	require.True(t, in, "%s: %v is not in the %s band", msg, score, b)
}

// The seed's table, at and just inside every band edge.
func TestCurvesAtBandEdges(t *testing.T) {
	const ms = 1e-3
	tests := []struct {
		name  string
		score func(float64) float64
		x     float64
		want  band
		exact float64 // when not -1, the exact score
	}{
		{"jitter 0", JitterScore, 0, excellent, 100},
		{"jitter 0.999 ms", JitterScore, 0.999 * ms, excellent, -1},
		{"jitter 1 ms", JitterScore, 1 * ms, goodBand, 90},
		{"jitter 3 ms", JitterScore, 3 * ms, goodBand, 82.5},
		{"jitter 5 ms", JitterScore, 5 * ms, goodBand, 75},
		{"jitter 5.001 ms", JitterScore, 5.001 * ms, acceptable, -1},
		{"jitter 10 ms", JitterScore, 10 * ms, acceptable, 60},
		{"jitter 10.001 ms", JitterScore, 10.001 * ms, poor, -1},
		{"jitter 50 ms", JitterScore, 50 * ms, poor, 20},
		{"jitter 1 s", JitterScore, 1, poor, 0},
		{"jitter 10 s", JitterScore, 10, poor, 0},

		{"reach 100 %", ReachScore, 1, excellent, 100},
		{"reach 99.5 %", ReachScore, 0.995, excellent, 95},
		{"reach 99 %", ReachScore, 0.99, goodBand, 90},
		{"reach 90 %", ReachScore, 0.90, goodBand, 75},
		{"reach 89 %", ReachScore, 0.89, acceptable, -1},
		{"reach 80 %", ReachScore, 0.80, acceptable, 60},
		{"reach 79.9 %", ReachScore, 0.799, poor, -1},
		{"reach 3 of 4", ReachScore, 0.75, poor, 56.25},
		{"reach 0", ReachScore, 0, poor, 0},

		{"latency 0", LatencyScore, 0, excellent, 100},
		{"latency 3.999 ms", LatencyScore, 3.999 * ms, excellent, -1},
		{"latency 4 ms", LatencyScore, 4 * ms, goodBand, 90},
		{"latency 20 ms", LatencyScore, 20 * ms, goodBand, 75},
		{"latency 20.01 ms", LatencyScore, 20.01 * ms, acceptable, -1},
		{"latency 100 ms", LatencyScore, 100 * ms, acceptable, 60},
		{"latency 100.1 ms", LatencyScore, 100.1 * ms, poor, -1},
		{"latency 1.5 s", LatencyScore, 1.5, poor, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.score(tc.x)
			requireBand(t, tc.want, got, tc.name)
			if tc.exact >= 0 {
				require.InDelta(t, tc.exact, got, 1e-9)
			}
		})
	}
}

func TestStratumBands(t *testing.T) {
	tests := []struct {
		stratum int
		want    band
		exact   float64
	}{
		{1, excellent, 100},
		{2, excellent, 95},
		{3, goodBand, 82.5},
		{4, acceptable, 67.5},
		{5, poor, 50},
		{8, poor, -1},
		{15, poor, -1},
		{16, poor, 0},
	}
	for _, tc := range tests {
		got := StratumScore(tc.stratum)
		requireBand(t, tc.want, got, "stratum")
		if tc.exact >= 0 {
			require.InDelta(t, tc.exact, got, 1e-9, "stratum %d", tc.stratum)
		}
	}
}

// Every curve is monotone: more jitter, delay or stratum never scores
// more; more reachability never scores less. Checked on random pairs over
// each curve's range and beyond.
func TestCurvesMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a, b := rng.Float64()*2, rng.Float64()*2
		if a > b {
			a, b = b, a
		}
		require.GreaterOrEqual(t, JitterScore(a), JitterScore(b), "jitter %v < %v", a, b)
		require.GreaterOrEqual(t, LatencyScore(a), LatencyScore(b), "delay %v < %v", a, b)
		ra, rb := a/2, b/2
		require.LessOrEqual(t, ReachScore(ra), ReachScore(rb), "reach %v < %v", ra, rb)
		sa, sb := rng.IntN(20), rng.IntN(20)
		if sa > sb {
			sa, sb = sb, sa
		}
		require.GreaterOrEqual(t, StratumScore(sa), StratumScore(sb), "stratum %d < %d", sa, sb)
	}
	for _, c := range []curve{jitterCurve, reachCurve, stratumCurve, latencyCurve} {
		for i := 1; i < len(c); i++ {
			require.Greater(t, c[i].x, c[i-1].x, "knots in increasing x")
		}
	}
}
