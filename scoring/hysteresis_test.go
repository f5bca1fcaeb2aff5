package scoring

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// scored is a healthy stratum-3 server with a 20 ms round trip whose
// jitter is tuned so it scores target (58.2 .. 93.1 under the defaults).
func scored(t testing.TB, addr string, target float64) Measurement {
	t.Helper()
	m := good(addr, "ntp-"+strings.NewReplacer(".", "-", ":", "-").Replace(addr)+".example")
	m.Stratum, m.Delay, m.RefID = 3, 0.020, ""
	lo, hi := 0.0, 1.0 // jitter bounds; the score falls as jitter grows
	for i := 0; i < 100; i++ {
		m.Jitter = (lo + hi) / 2
		if Score(&m, DefaultConfig().Weights) > target {
			lo = m.Jitter
		} else {
			hi = m.Jitter
		}
	}
	require.InDelta(t, target, Score(&m, DefaultConfig().Weights), 0.01, "target %v out of reach", target)
	return m
}

// runs replays Decide over a sequence of measurement sets, feeding each
// run's set back in as the current set and the state through JSON, as the
// agent does. It returns the decisions.
func replay(t *testing.T, runs int, mod func(*Config), measure func(run int) []Measurement) []Decision {
	t.Helper()
	var st State
	var set []string
	var out []Decision
	for run := 0; run < runs; run++ {
		ms := measure(run)
		for i := range ms {
			ms[i].Current = slices.Contains(set, ms[i].Address.String())
		}
		d, next := decide(t, ms, st, mod)
		b, err := json.Marshal(next)
		require.NoError(t, err)
		st = State{}
		require.NoError(t, json.Unmarshal(b, &st))
		set = selected(d)
		out = append(out, d)
	}
	return out
}

// switches counts runs whose set differs from the previous run's, not
// counting the first run's initial fill.
func switches(ds []Decision) int {
	n := 0
	for i := 1; i < len(ds); i++ {
		if ds[i].Changed {
			n++
		}
	}
	return n
}

// Two servers alternating within 10 % of each other, with noise, over 200
// runs: at most one switch.
func TestHysteresisReplayNearTie(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	nearTie := func(seed uint64) func(int) []Measurement {
		rng := rand.New(rand.NewPCG(seed, 10))
		return func(run int) []Measurement {
			hi, lo := 88+rng.Float64()*2, 81+rng.Float64()*2 // lo within 10 % of hi
			if run%2 == 1 || rng.IntN(4) == 0 {
				hi, lo = lo, hi
			}
			return []Measurement{scored(t, "192.0.2.1", hi), scored(t, "198.51.100.1", lo)}
		}
	}
	ds := replay(t, 200, one, nearTie(9))
	require.LessOrEqual(t, switches(ds), 1)
	// The control: without hysteresis the same runs flap.
	flap := replay(t, 200, func(c *Config) { one(c); c.HysteresisPercent, c.StabilityThreshold = 0, 1 }, nearTie(9))
	require.Greater(t, switches(flap), 100)
	// Whenever the standby server scores higher, the reason says why the
	// member stays.
	within := 0
	for _, d := range ds {
		if d.Candidates[0].Verdict == Standby {
			within++
			require.Regexp(t, `^standby: score \d+\.\d, but member \S+ \(\d+\.\d\) is within 15 %$`, d.Candidates[0].Reason)
			require.Regexp(t, `^kept: challenger \d+\.\d vs \d+\.\d is within 15 % \(`, d.Candidates[1].Reason)
		}
	}
	require.Greater(t, within, 50)

	// The same with a set of 4 out of 5 near-equal servers.
	addrs := []string{"192.0.2.1", "198.51.100.1", "203.0.113.1", "192.0.3.1", "192.0.4.1"}
	rng := rand.New(rand.NewPCG(11, 12))
	ds = replay(t, 200, nil, func(run int) []Measurement {
		var ms []Measurement
		for _, a := range addrs {
			ms = append(ms, scored(t, a, 82+rng.Float64()*8))
		}
		return ms
	})
	require.LessOrEqual(t, switches(ds), 1)
}

// Alternating by far more than 15 %, but never twice in a row: no switch,
// because stability_threshold asks for two consecutive losing runs.
func TestHysteresisReplayAlternatingWide(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	alternate := func(run int) []Measurement {
		a, b := 92.0, 65.0
		if run%2 == 1 {
			a, b = b, a
		}
		return []Measurement{scored(t, "192.0.2.1", a), scored(t, "198.51.100.1", b)}
	}
	ds := replay(t, 200, one, alternate)
	require.Zero(t, switches(ds))
	flap := replay(t, 200, func(c *Config) { one(c); c.StabilityThreshold = 1 }, alternate)
	require.Equal(t, 199, switches(flap), "the control: a threshold of 1 follows every swing")
	require.Regexp(t, `^kept: score 65\.0 is more than 15 % below challenger 198\.51\.100\.1 \(92\.0\), 1st run of 2$`,
		cand(t, ds[1], "192.0.2.1").Reason)
}

// A lasting improvement wins on the second run, with the reasons the
// agent prints.
func TestHysteresisSwitchesAfterTwoRuns(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	ds := replay(t, 4, one, func(run int) []Measurement {
		b := 70.0
		if run >= 1 {
			b = 92
		}
		return []Measurement{scored(t, "192.0.2.1", 75), scored(t, "198.51.100.1", b)}
	})
	require.Equal(t, []string{"192.0.2.1"}, selected(ds[0]))
	require.Equal(t, []string{"192.0.2.1"}, selected(ds[1]))
	require.Equal(t, "kept: score 75.0 is more than 15 % below challenger 198.51.100.1 (92.0), 1st run of 2",
		cand(t, ds[1], "192.0.2.1").Reason)
	require.Equal(t, "standby: challenges 192.0.2.1 (75.0), 1st run of 2", cand(t, ds[1], "198.51.100.1").Reason)
	require.Equal(t, []string{"198.51.100.1"}, selected(ds[2]))
	require.Equal(t, "replaced by 198.51.100.1: score 92.0 vs 75.0, 2nd run in a row", ds[2].Removed[0].Reason)
	require.Equal(t, "selected: score 92.0 replaces 192.0.2.1 (score 75.0), 2nd run in a row", ds[2].Added[0].Reason)
	require.False(t, ds[3].Changed, "then it holds")
	require.Equal(t, "kept: score 92.0, best challenger 75.0", cand(t, ds[3], "198.51.100.1").Reason)
	require.Equal(t, "standby: score 75.0, rank 2; the set of 1 is full", cand(t, ds[3], "192.0.2.1").Reason)
}

// Three members all beaten for good: one replacement per run, worst first.
func TestHysteresisMaxChangesPerRun(t *testing.T) {
	members := map[string]float64{"192.0.2.1": 62, "192.0.3.1": 64, "192.0.4.1": 66}
	challengers := []string{"198.51.100.1", "198.51.101.1", "198.51.102.1"}
	ds := replay(t, 5, func(c *Config) { c.SetSize = 3 }, func(run int) []Measurement {
		var ms []Measurement
		for a, s := range members {
			ms = append(ms, scored(t, a, s))
		}
		if run > 0 {
			for i, a := range challengers {
				ms = append(ms, scored(t, a, 90+float64(i)/10))
			}
		}
		return ms
	})
	require.ElementsMatch(t, []string{"192.0.2.1", "192.0.3.1", "192.0.4.1"}, selected(ds[1]))
	require.Len(t, ds[2].Removed, 1)
	require.Equal(t, "192.0.2.1", ds[2].Removed[0].Address.String(), "the worst goes first")
	require.Regexp(t, `2nd run of 2; max_changes_per_run \(1\) reached$`, cand(t, ds[2], "192.0.3.1").Reason)
	require.Len(t, ds[3].Removed, 1)
	require.Equal(t, "192.0.3.1", ds[3].Removed[0].Address.String())
	require.Len(t, ds[4].Removed, 1)
	require.ElementsMatch(t, challengers, selected(ds[4]))
}

// A member failing a hard filter is replaced at once, whatever the
// counters say.
func TestHardFailureReplacedAtOnce(t *testing.T) {
	ds := replay(t, 2, func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }, func(run int) []Measurement {
		a, b := scored(t, "192.0.2.1", 90), scored(t, "198.51.100.1", 80)
		if run == 1 {
			a.KoD = "RATE"
		}
		return []Measurement{a, b}
	})
	require.Equal(t, []string{"198.51.100.1"}, selected(ds[1]))
	require.Equal(t, "removed: kiss-o'-death RATE", ds[1].Removed[0].Reason)
	require.Equal(t, "selected: score 80.0, rank 1", ds[1].Added[0].Reason)
}
