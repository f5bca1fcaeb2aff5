package scoring

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// bandServer is a server whose metrics all lie in one of the seed's bands,
// at the band's worst edge (the hardest case for the band's score range).
func bandServer(b band, worstEdge bool) Measurement {
	type metrics struct {
		jitter, delay float64
		stratum       int
		ok, sent      int
	}
	edge := map[band]metrics{
		excellent:  {0.00099, 0.00399, 2, 100, 100},
		goodBand:   {0.005, 0.020, 3, 90, 100},
		acceptable: {0.010, 0.100, 4, 80, 100},
		poor:       {0.0101, 0.1001, 5, 79, 100},
	}
	middle := map[band]metrics{
		excellent:  {0.0003, 0.001, 1, 8, 8},
		goodBand:   {0.002, 0.010, 3, 95, 100},
		acceptable: {0.007, 0.050, 4, 85, 100},
		poor:       {0.050, 0.500, 8, 1, 2},
	}
	v := middle[b]
	if worstEdge {
		v = edge[b]
	}
	m := good("192.0.2.1", "x")
	m.Jitter, m.Delay, m.Stratum, m.SamplesOK, m.SamplesSent = v.jitter, v.delay, v.stratum, v.ok, v.sent
	return m
}

// randomWeights returns non-negative weights summing to 1.
func randomWeights(rng *rand.Rand) Weights {
	var w [4]float64
	sum := 0.0
	for i := range w {
		w[i] = rng.Float64()
		sum += w[i]
	}
	return Weights{w[0] / sum, w[1] / sum, w[2] / sum, 1 - (w[0]+w[1]+w[2])/sum}
}

// The seed's score ranges hold for a server in one band on every metric,
// under the default weights, the seed's production preset and random
// weights.
func TestOverallScoreBands(t *testing.T) {
	weights := []Weights{DefaultConfig().Weights, {0.40, 0.35, 0.20, 0.05}}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50; i++ {
		weights = append(weights, randomWeights(rng))
	}
	for _, b := range []band{excellent, goodBand, acceptable, poor} {
		for _, edge := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/edge=%v", b, edge), func(t *testing.T) {
				m := bandServer(b, edge)
				for _, w := range weights {
					requireBand(t, b, Score(&m, w), fmt.Sprintf("weights %+v", w))
				}
			})
		}
	}
}

// Making one metric worse never raises the score: more jitter, more loss,
// more delay or a higher stratum, on random servers and weights.
func TestScoreMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		w := randomWeights(rng)
		m := Measurement{
			Jitter:      rng.ExpFloat64() * 0.005,
			Delay:       rng.ExpFloat64() * 0.03,
			Stratum:     1 + rng.IntN(15),
			SamplesSent: 1 + rng.IntN(8),
		}
		m.SamplesOK = rng.IntN(m.SamplesSent + 1)
		base := Score(&m, w)
		worse := []struct {
			name string
			mod  func(*Measurement)
		}{
			{"jitter", func(m *Measurement) { m.Jitter += rng.ExpFloat64() * 0.01 }},
			{"delay", func(m *Measurement) { m.Delay += rng.ExpFloat64() * 0.05 }},
			{"stratum", func(m *Measurement) { m.Stratum += 1 + rng.IntN(3) }},
			{"loss", func(m *Measurement) {
				if m.SamplesOK > 0 {
					m.SamplesOK--
				}
			}},
		}
		for _, wr := range worse {
			n := m
			wr.mod(&n)
			require.LessOrEqual(t, Score(&n, w), base+1e-12, "%s worse: %+v -> %+v", wr.name, m, n)
		}
	}
}

func TestReachRegister(t *testing.T) {
	tests := []struct {
		name     string
		reg      uint8
		polls    int
		sent, ok int
	}{
		{"full and perfect", 0o377, 0, 8, 8},
		{"full, one miss", 0o376, 8, 8, 7},
		{"never answered", 0, 8, 8, 0},
		{"young, 3 of 3", 0o7, 3, 3, 3},
		{"young, 2 of 3", 0o5, 3, 3, 2},
		{"young ignores older bits", 0o377, 2, 2, 2},
		{"more than 8 polls", 0o17, 100, 8, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent, ok := ReachRegister(tc.reg, tc.polls)
			require.Equal(t, tc.sent, sent)
			require.Equal(t, tc.ok, ok)
		})
	}
}
