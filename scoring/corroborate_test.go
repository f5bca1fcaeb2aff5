package scoring

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// liars are the five candidates: servers whose numbers are perfect
// (stratum 1, no jitter, a short path) but whose clocks are off by seconds,
// so that each would outscore the members it is measured against.
func liars() []Measurement {
	var ms []Measurement
	for i, off := range []float64{-100, 100, -50, 50, 200} {
		m := good(fmt.Sprintf("198.51.%d.1", 100+i), fmt.Sprintf("liar%d.example", i))
		m.Offset, m.Stratum, m.Jitter, m.Delay = off, 1, 0, 0.0005
		ms = append(ms, m)
	}
	return ms
}

// agreeing returns three healthy current sources within a millisecond of
// each other, as chronyd reports them.
func agreeing() []Measurement {
	var ms []Measurement
	for i, off := range []float64{-0.0002, 0.0001, 0.0003} {
		m := good(fmt.Sprintf("192.0.%d.1", 2+i), fmt.Sprintf("ok%d.example", i))
		m.Origin, m.Current, m.ChronydState = OriginChronyd, true, StateUnselected
		m.SamplesSent, m.SamplesOK, m.Offset = 8, 8, off
		ms = append(ms, m)
	}
	return ms
}

// noMajorityNote is the decision's note about the missing majority.
func noMajorityNote(t *testing.T, d Decision) string {
	t.Helper()
	i := slices.IndexFunc(d.Notes, func(n string) bool { return strings.HasPrefix(n, "no majority") })
	require.GreaterOrEqual(t, i, 0, "notes: %q", d.Notes)
	return d.Notes[i]
}

// The case: chronyd has three agreeing sources, five extra
// candidates are at −100 s, +100 s, −50 s, +50 s and +200 s. Eight
// witnesses, no five of them agree: no majority. Before, nobody was marked
// and the best-scoring liar filled the free slot; now none of the five is
// eligible, the three stay, and the outcome says why.
func TestNoMajorityAddsNoLiar(t *testing.T) {
	for _, tc := range []struct {
		name  string
		star  bool // one of the three is chronyd's '*'
		basis string
	}{
		{"chronyd's selected source", true, "chronyd's selected source"},
		{"no source selected: the current sources", false, "the current sources"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := agreeing()
			if tc.star {
				ms[1].ChronydState = StateSelected
			}
			ms = append(ms, liars()...)
			d, _ := decide(t, ms, State{}, nil)

			require.False(t, d.Majority.Found)
			require.Empty(t, d.Added, "no liar is added")
			require.Empty(t, d.Removed, "the agreeing sources stay")
			require.ElementsMatch(t, []string{"192.0.2.1", "192.0.3.1", "192.0.4.1"}, selected(d))
			for _, l := range liars() {
				c := cand(t, d, l.Address.String())
				require.Equal(t, Rejected, c.Verdict, c.Reason)
				require.False(t, c.Falseticker, "not a falseticker: nobody can say so without a majority")
				require.Contains(t, c.Reason, "uncorroborated: ")
				require.Contains(t, c.Reason, "outside the group agreeing with "+tc.basis)
			}
			c := cand(t, d, "198.51.102.1")
			require.Regexp(t, `^uncorroborated: -50000\.0 ms outside the group agreeing with `+tc.basis+
				` \[-[0-9.]+, \+[0-9.]+\] ms \(3 servers; no majority agrees on any time\)$`, c.Reason)

			g := d.Majority.Group
			require.NotNil(t, g)
			require.True(t, g.Found)
			require.Equal(t, tc.basis, g.Basis)
			require.Equal(t, 3, g.Members)
			require.Less(t, g.Interval.Low, 0.0)
			require.Greater(t, g.Interval.High, 0.0)
			note := noMajorityNote(t, d)
			require.Contains(t, note, "do not agree")
			require.Contains(t, note, "5 uncorroborated servers are not eligible")
			require.NotContains(t, note, "none is marked")
		})
	}
}

// No current sources and five servers that all disagree: nothing can be
// corroborated, so nothing is selected, and the outcome says why.
func TestNoMajorityNoCurrentSelectsNone(t *testing.T) {
	d, _ := decide(t, liars(), State{}, nil)
	require.False(t, d.Majority.Found)
	require.Empty(t, d.Selected)
	require.Empty(t, d.Added)
	for _, c := range d.Candidates {
		require.Equal(t, Rejected, c.Verdict, c.Address)
		require.Contains(t, c.Reason, "uncorroborated: ")
		require.Contains(t, c.Reason, "no two servers agree", c.Address)
	}
	require.NotNil(t, d.Majority.Group)
	require.False(t, d.Majority.Group.Found)
	require.Equal(t, "the servers measured", d.Majority.Group.Basis)
	note := noMajorityNote(t, d)
	require.Contains(t, note, "no current source")
	require.Contains(t, note, "none is selected")
}

// probe has no current set: a server 10⁶ s off that agrees with nobody is
// not "selected" beside the one it disagrees with; neither can be told
// right.
func TestNoMajorityProbeOfTwo(t *testing.T) {
	a, b := good("192.0.2.1", "a.example"), good("192.0.3.1", "b.example")
	b.Offset, b.Jitter = 1e6, 0
	d, _ := decide(t, []Measurement{a, b}, State{}, nil)
	require.Empty(t, selected(d))
	require.Regexp(t, `^uncorroborated: \+1000000000\.0 ms: no majority agrees on any time and no two servers agree`,
		cand(t, d, "192.0.3.1").Reason)
}

// Without a current set, the largest group that agrees, when it is the
// only one of its size, is corroboration: two servers that agree with each
// other are selected, three that each disagree with everybody are not.
func TestNoMajorityUniqueLargestGroup(t *testing.T) {
	a, b := good("192.0.2.1", "a.example"), good("192.0.3.1", "b.example")
	b.Offset = 0.0004
	ms := append([]Measurement{a, b}, liars()[:3]...)
	d, _ := decide(t, ms, State{}, nil)
	require.False(t, d.Majority.Found, "2 of 5 is no majority")
	require.ElementsMatch(t, []string{"192.0.2.1", "192.0.3.1"}, selected(d))
	require.NotNil(t, d.Majority.Group)
	require.Equal(t, Group{Basis: "the servers measured", Found: true, Members: 2, Largest: 2,
		Interval: d.Majority.Group.Interval}, *d.Majority.Group)
	for _, l := range liars()[:3] {
		require.Contains(t, cand(t, d, l.Address.String()).Reason, "outside the group agreeing with the servers measured")
	}

	// Two pairs that agree within themselves but not with each other: no
	// group is larger, none is corroborated.
	c, e := good("192.0.4.1", "c.example"), good("192.0.5.1", "e.example")
	c.Offset, e.Offset = 50, 50.0004
	d, _ = decide(t, []Measurement{a, b, c, e}, State{}, nil)
	require.Empty(t, selected(d))
	require.False(t, d.Majority.Group.Found)
	require.Contains(t, noMajorityNote(t, d), "none is selected")
}

// A current member outside the group keeps today's treatment (it is
// chronyd's to judge: it is removed when chronyd marks it 'x'); only
// servers to be added must be corroborated.
func TestNoMajorityCurrentOutsideGroup(t *testing.T) {
	odd := good("192.0.9.1", "odd.example")
	odd.Origin, odd.Current, odd.SamplesSent, odd.SamplesOK, odd.Offset = OriginChronyd, true, 8, 8, 50
	ms := append(agreeing(), odd)
	ms = append(ms, liars()[:2]...)
	d, _ := decide(t, ms, State{}, nil)
	require.False(t, d.Majority.Found, "3 of 6 is no majority")
	require.NotNil(t, d.Majority.Group)
	require.Equal(t, 3, d.Majority.Group.Members, "the three agreeing current sources")
	require.Contains(t, selected(d), "192.0.9.1")
	require.Regexp(t, `^kept: score [0-9.]+$`, cand(t, d, "192.0.9.1").Reason)
	require.Empty(t, d.Added)
	require.Contains(t, noMajorityNote(t, d), "1 current source outside it is kept as before")

	odd.ChronydState = StateFalseticker
	ms[3] = odd
	d, _ = decide(t, ms, State{}, nil)
	require.Equal(t, "removed: falseticker: chronyd marks it 'x'", cand(t, d, "192.0.9.1").Reason)
	require.Empty(t, d.Added, "and nothing uncorroborated takes its place")
}

// A server that agrees with the group is still added to a free slot.
func TestNoMajorityAddsCorroborated(t *testing.T) {
	ms := agreeing()
	ms[0].ChronydState = StateSelected
	ok := good("203.0.113.1", "new.example")
	ok.Offset = 0.0002
	ms = append(ms, ok)
	ms = append(ms, liars()...)
	d, _ := decide(t, ms, State{}, nil)
	require.False(t, d.Majority.Found, "4 of 9 is no majority")
	require.Len(t, d.Added, 1)
	require.Equal(t, netip.MustParseAddr("203.0.113.1"), d.Added[0].Address)
	require.True(t, strings.HasPrefix(d.Added[0].Reason, "selected: score "), d.Added[0].Reason)
	require.NotNil(t, d.Majority.Group)
	require.Equal(t, 4, d.Majority.Group.Members)
}

// A pinned server is in the set whatever its verdict: the reason shows it.
func TestNoMajorityPinnedLiar(t *testing.T) {
	ms := append(agreeing(), liars()...)
	ms[3].Pinned = true
	d, _ := decide(t, ms, State{}, nil)
	c := cand(t, d, ms[3].Address.String())
	require.Equal(t, Selected, c.Verdict)
	require.True(t, strings.HasPrefix(c.Reason, "pinned (keep), although: uncorroborated: "), c.Reason)
}

func TestAgreeingGroup(t *testing.T) {
	tests := []struct {
		name    string
		ivs     []Interval
		ref     []bool
		found   bool
		members []int
	}{
		{"no reference, all apart", []Interval{iv(0, 1), iv(2, 3), iv(4, 5)}, nil, false, nil},
		{"no reference, one pair", []Interval{iv(0, 1), iv(0.5, 1.5), iv(4, 5), iv(7, 8)}, nil, true, []int{0, 1}},
		{"no reference, two pairs tie", []Interval{iv(0, 1), iv(0.5, 1.5), iv(4, 5), iv(4.5, 5)}, nil, false, nil},
		{"reference alone", []Interval{iv(0, 1), iv(2, 3), iv(4, 5)}, []bool{false, true, false}, true, []int{1}},
		{"around the reference, not the largest", []Interval{iv(0, 1), iv(2, 3), iv(2.5, 3.5), iv(6, 7), iv(6, 7), iv(6, 7)},
			[]bool{false, true, false, false, false, false}, true, []int{1, 2}},
		{"as many references as possible", []Interval{iv(0, 1), iv(0, 1), iv(5, 6), iv(0.5, 2)},
			[]bool{true, true, true, false}, true, []int{0, 1, 3}},
		// The reference agrees with two servers that disagree with each
		// other: only it is in both groups of two.
		{"tie around the reference", []Interval{iv(0, 10), iv(0, 1), iv(9, 10)}, []bool{true, false, false}, true, []int{0}},
		{"references tie apart", []Interval{iv(0, 1), iv(0.5, 1), iv(5, 6), iv(5.5, 6)},
			[]bool{true, false, true, false}, false, nil},
		{"touching ends agree", []Interval{iv(0, 1), iv(1, 2), iv(3, 4)}, nil, true, []int{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.ref
			if ref == nil {
				ref = make([]bool, len(tc.ivs))
			}
			in, g := agreeingGroup(tc.ivs, ref)
			require.Equal(t, tc.found, g.Found)
			var got []int
			for i, ok := range in {
				if ok {
					got = append(got, i)
				}
			}
			require.Equal(t, tc.members, got)
			require.Equal(t, len(tc.members), g.Members)
			for _, i := range tc.members {
				require.True(t, tc.ivs[i].overlaps(g.Interval))
				require.True(t, tc.ivs[i].Low <= g.Interval.Low && g.Interval.High <= tc.ivs[i].High,
					"the group's interval is common to its members")
			}
			// The order of the intervals does not matter.
			p := make([]int, len(tc.ivs))
			for i := range p {
				p[i] = len(p) - 1 - i
			}
			rivs, rref := make([]Interval, len(p)), make([]bool, len(p))
			for i, j := range p {
				rivs[i], rref[i] = tc.ivs[j], ref[j]
			}
			rin, rg := agreeingGroup(rivs, rref)
			require.Equal(t, g, rg)
			for i, j := range p {
				require.Equal(t, in[j], rin[i])
			}
		})
	}
}

// Random scenarios without a majority: clusters of agreeing servers that
// are seconds apart, some current, one maybe chronyd's '*'. Nothing is
// added that does not agree with every member of the group, the group
// holds the references it can, and the decision does not depend on the
// order of the input.
func TestNoMajorityRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	noMaj, added := 0, 0
	for run := 0; run < 300; run++ {
		var ms []Measurement
		clusters := 2 + rng.IntN(4)
		for k := 0; k < clusters; k++ {
			centre := float64(k)*10 + rng.Float64()
			for i := 0; i < 1+rng.IntN(3); i++ {
				m := good(fmt.Sprintf("10.%d.%d.1", k, i), fmt.Sprintf("s%d-%d.example", k, i))
				m.Offset = centre + (rng.Float64()-0.5)*0.001
				m.Current = rng.IntN(4) == 0
				if m.Current && rng.IntN(3) == 0 {
					m.Origin, m.ChronydState = OriginChronyd, StateSelected
				}
				ms = append(ms, m)
			}
		}
		stars := 0
		for _, m := range ms {
			if m.ChronydState == StateSelected {
				stars++
			}
		}
		if stars > 1 { // chronyd selects one source at most
			for i := range ms {
				ms[i].ChronydState = ""
			}
		}
		cfg := DefaultConfig()
		d, _, err := Decide(Input{Measurements: ms}, State{}, t0, cfg)
		require.NoError(t, err)
		if d.Majority.Found {
			continue
		}
		noMaj++
		g := d.Majority.Group
		require.NotNil(t, g, "run %d", run)
		for _, c := range d.Candidates {
			if c.Verdict != Selected || c.Current {
				continue
			}
			added++
			require.True(t, g.Found, "run %d: %s added without a group", run, c.Address)
			require.True(t, c.Interval.Low <= g.Interval.Low && g.Interval.High <= c.Interval.High,
				"run %d: %s added outside the group %+v: %s", run, c.Address, g.Interval, c.Reason)
		}
		rev := slices.Clone(ms)
		slices.Reverse(rev)
		d2, _, err := Decide(Input{Measurements: rev}, State{}, t0, cfg)
		require.NoError(t, err)
		j1, _ := json.Marshal(d)
		j2, _ := json.Marshal(d2)
		require.JSONEq(t, string(j1), string(j2), "run %d", run)
	}
	require.Greater(t, noMaj, 100, "scenarios without a majority")
	require.Greater(t, added, 20, "servers added in them")
}
