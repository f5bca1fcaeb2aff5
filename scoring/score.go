package scoring

// SubScores are the four sub-scores of a measurement, each 0..100.
type SubScores struct {
	Jitter       float64 `json:"jitter"`
	Reachability float64 `json:"reachability"`
	Stratum      float64 `json:"stratum"`
	Latency      float64 `json:"latency"`
}

// JitterScore maps jitter (seconds) onto 0..100; see the table in doc.go.
func JitterScore(jitter float64) float64 { return jitterCurve.at(jitter) }

// ReachScore maps reachability (a fraction 0..1) onto 0..100.
func ReachScore(reach float64) float64 { return reachCurve.at(reach) }

// StratumScore maps a stratum onto 0..100.
func StratumScore(stratum int) float64 { return stratumCurve.at(float64(stratum)) }

// LatencyScore maps the round-trip delay (seconds) onto 0..100.
func LatencyScore(delay float64) float64 { return latencyCurve.at(delay) }

// Sub returns m's sub-scores. Offset is not scored: it is the local
// clock's error as much as the server's, and disagreement between servers
// is what the falseticker filter judges.
func Sub(m *Measurement) SubScores {
	return SubScores{
		Jitter:       JitterScore(m.Jitter),
		Reachability: ReachScore(m.Reach()),
		Stratum:      StratumScore(m.Stratum),
		Latency:      LatencyScore(m.Delay),
	}
}

// Weighted is the weighted sum of the sub-scores, 0..100.
func (s SubScores) Weighted(w Weights) float64 {
	return w.Jitter*s.Jitter + w.Reachability*s.Reachability +
		w.Stratum*s.Stratum + w.Latency*s.Latency
}

// Score is m's score under weights w: Sub(m).Weighted(w).
func Score(m *Measurement, w Weights) float64 {
	return Sub(m).Weighted(w)
}
