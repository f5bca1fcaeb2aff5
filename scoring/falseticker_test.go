package scoring

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func iv(lo, hi float64) Interval { return Interval{Low: lo, High: hi} }

func TestMajority(t *testing.T) {
	tests := []struct {
		name     string
		ivs      []Interval
		found    bool
		want     Interval
		agreeing int
	}{
		{"none", nil, false, Interval{}, 0},
		{"one is its own majority", []Interval{iv(-1, 1)}, true, iv(-1, 1), 1},
		{"two agree", []Interval{iv(-1, 1), iv(0, 2)}, true, iv(0, 1), 2},
		{"two disagree", []Interval{iv(-1, 1), iv(5, 6)}, false, Interval{}, 0},
		{"three, one off", []Interval{iv(-1, 1), iv(-0.5, 1.5), iv(10, 11)}, true, iv(-0.5, 1), 2},
		{"three-way split", []Interval{iv(0, 1), iv(2, 3), iv(4, 5)}, false, Interval{}, 0},
		{"two clusters of two", []Interval{iv(0, 1), iv(0.5, 1.5), iv(4, 5), iv(4.5, 5.5)}, false, Interval{}, 0},
		{"one wide bridges two", []Interval{iv(0, 10), iv(0, 1), iv(9, 10)}, true, iv(0, 10), 3},
		{"touching ends count", []Interval{iv(0, 1), iv(1, 2), iv(0.5, 1.5)}, true, iv(1, 1), 3},
		{"five, two off", []Interval{iv(-1, 1), iv(-1, 1), iv(-0.2, 0.8), iv(3, 4), iv(-9, -8)}, true, iv(-0.2, 0.8), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := majority(tc.ivs)
			require.Equal(t, tc.found, got.Found)
			require.Equal(t, len(tc.ivs), got.Witnesses)
			if tc.found {
				require.Equal(t, tc.want, got.Interval)
				require.Equal(t, tc.agreeing, got.Agreeing)
				require.Greater(t, 2*got.Agreeing, got.Witnesses, "a majority agrees")
			}
			// The order of the intervals does not matter.
			rev := slices.Clone(tc.ivs)
			slices.Reverse(rev)
			require.Equal(t, got, majority(rev))
		})
	}
}

func TestFalsetickerReason(t *testing.T) {
	var ms []Measurement
	for i, off := range []float64{-0.0001, 0.0001, 0.0003} {
		m := good(fmt.Sprintf("192.0.%d.1", i+2), fmt.Sprintf("s%d.example", i))
		m.Offset, m.RootDelay, m.RootDispersion, m.Delay, m.Jitter = off, 0, 0, 0.0002, 0.0001
		ms = append(ms, m)
	}
	bad := good("198.51.100.7", "liar.example")
	bad.Offset, bad.Jitter = 0.0482, 0 // perfect jitter, wrong time
	ms = append(ms, bad)
	d, _ := decide(t, ms, State{}, nil)
	c := cand(t, d, "198.51.100.7")
	require.Equal(t, Rejected, c.Verdict)
	require.True(t, c.Falseticker)
	require.Equal(t, "falseticker: +48.2 ms outside the majority interval [-0.7, +0.9] ms", c.Reason)
	require.NotContains(t, selected(d), "198.51.100.7")
	require.True(t, d.Majority.Found)
	require.Equal(t, 4, d.Majority.Witnesses)
	require.Equal(t, 3, d.Majority.Agreeing)
	require.Greater(t, c.Sub.Jitter, 99.0, "its jitter sub-score is perfect")
}

func TestChronydFalsetickerState(t *testing.T) {
	ms := []Measurement{good("192.0.2.1", "a.example"), good("192.0.3.1", "b.example"), good("192.0.4.1", "c.example")}
	ms[1].Origin, ms[1].ChronydState, ms[1].Current = OriginChronyd, StateFalseticker, true
	d, _ := decide(t, ms, State{}, nil)
	c := cand(t, d, "192.0.3.1")
	require.Equal(t, Rejected, c.Verdict)
	require.Equal(t, "removed: falseticker: chronyd marks it 'x'", c.Reason)
	require.Len(t, d.Removed, 1)
}

// With no majority nobody is marked a falseticker, and (issue 12) nobody
// is selected either: of two servers that disagree, neither corroborates
// the other (see corroborate_test.go).
func TestNoMajorityMarksNobody(t *testing.T) {
	a, b := good("192.0.2.1", "a.example"), good("192.0.3.1", "b.example")
	b.Offset = 0.5
	d, _ := decide(t, []Measurement{a, b}, State{}, nil)
	require.False(t, d.Majority.Found)
	require.Empty(t, selected(d))
	for _, c := range d.Candidates {
		require.False(t, c.Falseticker)
		require.Contains(t, c.Reason, "uncorroborated")
	}
	require.Contains(t, d.Notes[0], "no majority")
}

// Random scenarios with a majority of truechimers: a falseticker is never
// selected, however good its other metrics, and every truechimer escapes
// the label.
func TestFalsetickersNeverSelected(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for run := 0; run < 500; run++ {
		nTrue := 2 + rng.IntN(8)
		nFalse := rng.IntN(nTrue) // strictly fewer than the truechimers
		truth := (rng.Float64() - 0.5) * 0.2
		var ms []Measurement
		isFalse := map[netip.Addr]bool{}
		for i := 0; i < nTrue+nFalse; i++ {
			m := good(fmt.Sprintf("10.%d.%d.1", run%250, i), fmt.Sprintf("s%d-%d.example", run, i))
			m.Jitter = rng.Float64() * 0.002
			m.Delay = rng.Float64() * 0.05
			m.RootDelay, m.RootDispersion = rng.Float64()*0.02, rng.Float64()*0.01
			// A truechimer's offset error stays within its own interval.
			half := m.Delay/2 + m.RootDelay/2 + m.RootDispersion + m.Jitter
			m.Offset = truth + (rng.Float64()*2-1)*half
			if i >= nTrue {
				m.Jitter, m.Delay, m.RootDelay, m.RootDispersion = 0, 0.0005, 0.0001, 0.0001
				m.Offset = truth + (0.2+rng.Float64())*float64(1-2*rng.IntN(2))
				isFalse[m.Address] = true
			}
			m.Current = rng.IntN(3) == 0
			ms = append(ms, m)
		}
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		d, _ := decide(t, ms, State{}, nil)
		require.True(t, d.Majority.Found, "run %d", run)
		for _, c := range d.Candidates {
			require.Equal(t, isFalse[c.Address], c.Falseticker, "run %d %s: %s", run, c.Address, c.Reason)
			if isFalse[c.Address] {
				require.NotEqual(t, Selected, c.Verdict, "run %d", run)
			}
		}
	}
}
