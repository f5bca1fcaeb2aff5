package scoring

// A curve is a piecewise-linear function through its knots, which are in
// increasing x. Below the first knot it is the first knot's y, above the
// last the last's: every curve is flat outside its knots, so clamping never
// breaks monotonicity.
type curve []knot

type knot struct{ x, y float64 }

func (c curve) at(x float64) float64 {
	if x <= c[0].x {
		return c[0].y
	}
	for i := 1; i < len(c); i++ {
		if x == c[i].x {
			return c[i].y // exact at the knots, no rounding below 0
		}
		if x < c[i].x {
			a, b := c[i-1], c[i]
			return a.y + (b.y-a.y)*(x-a.x)/(b.x-a.x)
		}
	}
	return c[len(c)-1].y
}

// Score levels at the seed's band edges: a metric in the "excellent" band
// scores above bandExcellent, "good" bandGood..bandExcellent, "acceptable"
// bandAcceptable..bandGood, "poor" below bandAcceptable — the same ranges
// the seed gives for the overall score, so a server whose metrics all lie
// in one band gets an overall score in that band whatever the weights.
const (
	bandExcellent  = 90.0 // seed: score > 90 is excellent
	bandGood       = 75.0 // seed: 75–90 good
	bandAcceptable = 60.0 // seed: 60–75 acceptable, < 60 poor
)

// Jitter band edges, seconds (seed: < 1 ms, 1–5 ms, 5–10 ms, > 10 ms).
const (
	jitterExcellent  = 0.001
	jitterGood       = 0.005
	jitterAcceptable = 0.010
	// jitterCritical is ntpmon's critical level (50 ms); the poor tail
	// falls steeply to it.
	jitterCritical      = 0.050
	jitterCriticalScore = 20.0
	// jitterZero is chrony's maxjitter (1 s): chronyd will not select a
	// source this jittery.
	jitterZero = 1.0
)

var jitterCurve = curve{
	{0, 100},
	{jitterExcellent, bandExcellent},
	{jitterGood, bandGood},
	{jitterAcceptable, bandAcceptable},
	{jitterCritical, jitterCriticalScore},
	{jitterZero, 0},
}

// Reachability band edges, fractions (seed: 100 %, 90–99 %, 80–89 %,
// < 80 %). The seed leaves 99–100 % unassigned; it is treated as the
// excellent band's lower part, so only a perfect record scores 100.
const (
	reachGood       = 0.99
	reachAcceptable = 0.90
	reachPoor       = 0.80
)

var reachCurve = curve{
	{0, 0},
	{reachPoor, bandAcceptable},
	{reachAcceptable, bandGood},
	{reachGood, bandExcellent},
	{1, 100},
}

// Stratum anchors. The seed's bands (1–2, 2–3, 3–4, > 4) share their edges;
// strata are integers, and an edge belongs to the better band: 1 and 2
// are excellent, 3 good, 4 acceptable, 5 and up poor. Each integer stratum
// sits at the middle of its band's score range, except stratum 1 at the
// top; the curve reaches 0 at RFC 5905's MAXSTRAT (16, unsynchronised).
const (
	stratumMaxStrat = 16
	stratumPoor     = 5
	// stratumPoorScore is stratum 5's score: clearly poor, above the
	// straight line to 0 at MAXSTRAT.
	stratumPoorScore = 50.0
)

var stratumCurve = curve{
	{1, 100},
	{2, (100 + bandExcellent) / 2},       // 95
	{3, (bandExcellent + bandGood) / 2},  // 82.5
	{4, (bandGood + bandAcceptable) / 2}, // 67.5
	{stratumPoor, stratumPoorScore},      // 50
	{stratumMaxStrat, 0},
}

// Latency (round-trip delay) band edges, seconds. The seed's table has no
// latency row; its offset row (< 2 ms, 2–10 ms, 10–50 ms, > 50 ms) is an
// error budget, and a round trip of d bounds the asymmetry error of the
// offset by d/2 (RFC 5905 section 8), so the latency bands are twice the
// offset bands.
const (
	delayExcellent  = 2 * 0.002
	delayGood       = 2 * 0.010
	delayAcceptable = 2 * 0.050
	// delayZero: d/2 = 750 ms, where the pool monitor's offset step turns
	// to −2 (750 ms–3 s), and ntpd's maxdist (1.5 s) is used up by the
	// path alone.
	delayZero = 1.5
)

var latencyCurve = curve{
	{0, 100},
	{delayExcellent, bandExcellent},
	{delayGood, bandGood},
	{delayAcceptable, bandAcceptable},
	{delayZero, 0},
}
