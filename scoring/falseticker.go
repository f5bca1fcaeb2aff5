package scoring

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// minHalfWidth is the least half-width of a correctness interval, 1 ms.
// Two servers each within the seed's "excellent" offset band (< 2 ms) of
// the truth can differ by up to 2 ms; without a floor, servers on a quiet
// LAN (delay, root delay and dispersion of a few µs) would be called
// falsetickers for sampling noise.
const minHalfWidth = 0.001

// Interval is a range of offsets, seconds.
type Interval struct {
	Low  float64 `json:"low_s"`
	High float64 `json:"high_s"`
}

// CorrectnessInterval is the range of offsets m's answer allows: offset ±
// (Delay/2 + RootDelay/2 + RootDispersion + Jitter), and at least ± 1 ms.
// The half-width is RFC 5905's synchronization distance (section 11.2.1:
// (δ_R + δ)/2 + ε_R + ψ) without the client-side dispersion, which is the
// same for every server: this path's half round trip, the server's root
// distance (RootDelay/2 + RootDispersion, see Measurement.RootDistance),
// and the measured jitter ψ, so a noisy but honest server is not accused.
func CorrectnessInterval(m *Measurement) Interval {
	h := max(m.Delay/2+m.RootDistance()+m.Jitter, minHalfWidth)
	return Interval{Low: m.Offset - h, High: m.Offset + h}
}

func (iv Interval) overlaps(o Interval) bool {
	return iv.Low <= o.High && o.Low <= iv.High
}

// Majority is the outcome of the intersection.
type Majority struct {
	Found     bool     `json:"found"`
	Interval  Interval `json:"interval"`  // valid when Found
	Witnesses int      `json:"witnesses"` // intervals taken part
	Agreeing  int      `json:"agreeing"`  // intervals overlapping Interval
	// Group is set when no majority was found among the witnesses: the
	// group the agent sides with instead (Decide, corroborate).
	Group *Group `json:"group,omitempty"`
}

// majority runs the intersection algorithm over ivs, Marzullo's algorithm
// as RFC 5905 section 11.2.1 frames it: for allow = 0, 1, ... while
// 2·allow < n, it looks for the lowest and the highest point covered by at
// least n − allow intervals; the first allow for which such points exist
// gives the majority interval between them, and every interval that does
// not overlap it is a falseticker. When no allow works, no majority of
// servers agrees on any time and Found is false.
//
// Unlike ntpd's clock_select it does not also require the intervals'
// midpoints to lie inside (chrony does not either): an interval is a bound
// on the error, and an honest server's offset may sit anywhere in it.
//
// Only the values matter, not their order, so the result does not depend
// on the order of ivs.
func majority(ivs []Interval) Majority {
	n := len(ivs)
	out := Majority{Witnesses: n}
	if n == 0 {
		return out
	}
	type edge struct {
		v   float64
		typ int // -1 low end, +1 high end
	}
	es := make([]edge, 0, 2*n)
	for _, iv := range ivs {
		es = append(es, edge{iv.Low, -1}, edge{iv.High, +1})
	}
	// At equal values low ends sort first, so touching intervals overlap.
	slices.SortFunc(es, func(a, b edge) int {
		if c := cmp.Compare(a.v, b.v); c != 0 {
			return c
		}
		return cmp.Compare(a.typ, b.typ)
	})
	for allow := 0; 2*allow < n; allow++ {
		low, lowOK := 0.0, false
		for chime, i := 0, 0; i < len(es); i++ {
			chime -= es[i].typ
			if chime >= n-allow {
				low, lowOK = es[i].v, true
				break
			}
		}
		high, highOK := 0.0, false
		for chime, i := 0, len(es)-1; i >= 0; i-- {
			chime += es[i].typ
			if chime >= n-allow {
				high, highOK = es[i].v, true
				break
			}
		}
		if !lowOK || !highOK || high < low {
			continue
		}
		out.Found = true
		out.Interval = Interval{Low: low, High: high}
		for _, iv := range ivs {
			if iv.overlaps(out.Interval) {
				out.Agreeing++
			}
		}
		return out
	}
	return out
}

// Group is the agreeing group the agent sides with when no majority
// agrees on any time (see agreeingGroup): only servers in it may be added.
type Group struct {
	// Basis is what the group is built around: "chronyd's selected
	// source", "the current sources", or "the servers measured" when no
	// current source answered.
	Basis    string   `json:"basis"`
	Found    bool     `json:"found"`
	Interval Interval `json:"interval"` // common to every member's interval, when Found
	Members  int      `json:"members"`
	Largest  int      `json:"largest"` // the most intervals that share a point (with the most references)
}

// The bases of a Group.
const (
	basisSelected = "chronyd's selected source"
	basisCurrent  = "the current sources"
	basisMeasured = "the servers measured"
)

// agreeingGroup finds the group to side with when no majority agrees. A
// set of intervals agrees when all of them overlap, that is (intervals on
// a line) when they share a point; the groups that agree are the sets of
// intervals covering a point. Of these it takes the ones with the most
// reference intervals (ref[i]), then the most intervals: the largest
// agreeing group around the references. When several are as large, a
// server is in the group only if it is in every one of them, so a tie
// corroborates only what the tied groups have in common (nothing, when
// they are apart). Without references the group needs two members: a
// server that agrees with nobody corroborates nothing.
//
// in[i] says ivs[i] is in the group. Like majority, the result does not
// depend on the order of ivs. O(n log n).
func agreeingGroup(ivs []Interval, ref []bool) (in []bool, g Group) {
	type edge struct {
		v   float64
		typ int // -1 low end, +1 high end
		ref bool
	}
	es := make([]edge, 0, 2*len(ivs))
	refs := 0
	for i, iv := range ivs {
		es = append(es, edge{iv.Low, -1, ref[i]}, edge{iv.High, +1, ref[i]})
		if ref[i] {
			refs++
		}
	}
	// At equal values low ends sort first, so touching intervals agree.
	slices.SortFunc(es, func(a, b edge) int {
		if c := cmp.Compare(a.v, b.v); c != 0 {
			return c
		}
		return cmp.Compare(a.typ, b.typ)
	})
	// Sweep: after each low end the intervals covering its point are the
	// group at that point. first and last are the points of the best
	// groups; the intervals in all of them are those covering both.
	cover, refCover, bestRef := 0, 0, -1
	var first, last float64
	for _, e := range es {
		d := -e.typ
		cover += d
		if e.ref {
			refCover += d
		}
		if e.typ > 0 {
			continue
		}
		switch {
		case refCover > bestRef || refCover == bestRef && cover > g.Largest:
			bestRef, g.Largest, first, last = refCover, cover, e.v, e.v
		case refCover == bestRef && cover == g.Largest:
			last = e.v
		}
	}
	in = make([]bool, len(ivs))
	g.Interval = Interval{Low: math.Inf(-1), High: math.Inf(1)}
	for i, iv := range ivs {
		if iv.Low <= first && last <= iv.High {
			in[i] = true
			g.Members++
			g.Interval = Interval{Low: max(g.Interval.Low, iv.Low), High: min(g.Interval.High, iv.High)}
		}
	}
	g.Found = g.Members > 0 && (refs > 0 || g.Members >= 2)
	if !g.Found {
		clear(in)
		g.Members, g.Interval = 0, Interval{}
	}
	return in, g
}

// corroborate runs agreeingGroup over the witnesses when maj found no
// majority, and marks every witness outside the group that is not a
// current member "uncorroborated": it fails a hard filter, so it is not
// added (unless pinned). Current members outside the group are left as
// they are: they are the daemon's to judge, and it marks them 'x' when it
// finds them false. The references are chronyd's selected source ('*'),
// or, when none is among the witnesses, the current members chronyd does
// not mark 'x'. It returns the group and the decision's note about it.
func corroborate(wits []*Candidate, maj Majority) (*Group, string) {
	if maj.Found || len(wits) == 0 {
		return nil, ""
	}
	ivs := make([]Interval, len(wits))
	ref := make([]bool, len(wits))
	basis := basisMeasured
	for i, c := range wits {
		ivs[i] = c.Interval
		if c.Current && c.ChronydState == StateSelected {
			ref[i], basis = true, basisSelected
		}
	}
	if basis == basisMeasured {
		for i, c := range wits {
			if c.Current && !c.Falseticker {
				ref[i], basis = true, basisCurrent
			}
		}
	}
	in, g := agreeingGroup(ivs, ref)
	g.Basis = basis
	rejected, kept := 0, 0
	for i, c := range wits {
		switch {
		case in[i]:
		case c.Current:
			kept++
		default:
			rejected++
			c.markUncorroborated(&g)
		}
	}

	n := len(wits)
	if !g.Found {
		if basis == basisMeasured {
			return &g, fmt.Sprintf("no majority and no current source: the correctness intervals of the %d servers "+
				"that answered do not agree and %s, so none can be corroborated, and none is selected unless pinned (keep)",
				n, g.why())
		}
		return &g, fmt.Sprintf("no majority: the correctness intervals of the %d servers that answered do not agree "+
			"and %s, so none can be corroborated: none is added, the current sources are kept as before", n, g.why())
	}
	note := fmt.Sprintf("no majority: the correctness intervals of the %d servers that answered do not agree; "+
		"only servers agreeing with %s may be added: the group of %d at [%s, %s] ms",
		n, basis, g.Members, fmtMs(g.Interval.Low), fmtMs(g.Interval.High))
	if rejected > 0 {
		note += fmt.Sprintf("; %s not eligible", plural(rejected, "uncorroborated server is", "uncorroborated servers are"))
	}
	if kept > 0 {
		note += fmt.Sprintf("; %s kept as before (chronyd judges its own sources)",
			plural(kept, "current source outside it is", "current sources outside it are"))
	}
	return &g, note
}

// why says why no group was found.
func (g *Group) why() string {
	switch {
	case g.Largest < 2:
		return "no two servers agree"
	case g.Basis == basisMeasured:
		return "no group of servers that agree is larger than another"
	}
	return fmt.Sprintf("no group agreeing with %s is larger than another", g.Basis)
}

// markUncorroborated marks a witness outside g.
func (c *Candidate) markUncorroborated(g *Group) {
	if g.Found {
		c.Failed = append(c.Failed, fmt.Sprintf("uncorroborated: %s ms outside the group agreeing with %s [%s, %s] ms "+
			"(%d servers; no majority agrees on any time)",
			fmtMs(c.Offset), g.Basis, fmtMs(g.Interval.Low), fmtMs(g.Interval.High), g.Members))
		return
	}
	c.Failed = append(c.Failed, fmt.Sprintf("uncorroborated: %s ms: no majority agrees on any time and %s",
		fmtMs(c.Offset), g.why()))
}

// plural is "1 <one>" or "n <many>".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
