package scoring

import (
	"math/rand/v2"
	"testing"
	"time"
)

// benchFloor is the target: score and select among 1,000
// candidates in under 5 ms.
const benchFloor = 5 * time.Millisecond

// BenchmarkDecide1000 scores and selects among 1,000 candidates of every
// kind (see randomScenario) with a current set of four and a state, and
// reports ms/op and its ratio to the 5 ms target (below 1 is inside it).
func BenchmarkDecide1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(15, 16))
	ms, st := randomScenario(rng, 1000)
	for i := range ms {
		ms[i].Current, ms[i].Pinned = i%250 == 0, false
	}
	in := Input{Measurements: ms}
	cfg := DefaultConfig()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, _, err := Decide(in, st, t0, cfg); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(time.Millisecond), "ms/op")
	b.ReportMetric(float64(per)/float64(benchFloor), "ratio-to-5ms")
}
