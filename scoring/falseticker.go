package scoring

import (
	"cmp"
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
