package scoring

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// randomScenario makes n measurements of every kind: mostly healthy
// truechimers, some falsetickers, lossy, silent, KoD, unsynchronised,
// deep-stratum, smearing, shared operators and prefixes, some current and
// rarely pinned; and a state with streaks, failures and blacklist entries.
func randomScenario(rng *rand.Rand, n int) ([]Measurement, State) {
	st := State{
		Streaks:   map[netip.Addr]Streak{},
		Failures:  map[netip.Addr]int{},
		Blacklist: map[netip.Addr]BlacklistEntry{},
	}
	ms := make([]Measurement, 0, n)
	for i := 0; i < n; i++ {
		addr := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(i >> 8), byte(i)})
		if rng.IntN(5) == 0 {
			addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(rng.IntN(3)), 14: byte(i >> 8), 15: byte(i)})
		}
		m := Measurement{
			Origin:         []Origin{OriginProbe, OriginChronyd}[rng.IntN(2)],
			Address:        addr,
			Name:           fmt.Sprintf("ntp%d.op%d.example", i, rng.IntN(n/3+1)),
			Offset:         (rng.Float64() - 0.5) * 0.004,
			Delay:          rng.ExpFloat64() * 0.02,
			Jitter:         rng.ExpFloat64() * 0.002,
			RootDelay:      rng.Float64() * 0.03,
			RootDispersion: rng.Float64() * 0.02,
			Stratum:        1 + rng.IntN(3),
			RefID:          fmt.Sprintf("192.0.2.%d", rng.IntN(8)),
			SamplesSent:    4,
			SamplesOK:      4 - rng.IntN(2)*rng.IntN(5),
			Current:        rng.IntN(6) == 0,
			Pinned:         rng.IntN(40) == 0,
			Smearing:       rng.IntN(12) == 0,
		}
		switch rng.IntN(14) {
		case 0:
			m.Offset += 0.3 // falseticker
			m.Jitter = 0
		case 1:
			m.KoD = []string{"RATE", "DENY", "RSTR"}[rng.IntN(3)]
		case 2:
			m.Leap = 3
		case 3:
			m.Stratum = []int{0, 4, 9, 16}[rng.IntN(4)]
		case 4:
			m.RootDispersion = 2
		case 5:
			m.ChronydState = StateFalseticker
		case 6:
			m.Operator = "Big Cloud"
		case 7:
			m.Name = addr.String()
		case 8:
			m.SamplesSent, m.SamplesOK = 0, 0 // not measured (yet)
		}
		switch rng.IntN(10) {
		case 0:
			st.Streaks[addr] = Streak{Runs: 1 + rng.IntN(3)}
		case 1:
			st.Failures[addr] = 1 + rng.IntN(2)
		case 2:
			st.Blacklist[addr] = BlacklistEntry{Since: t0.Add(-day), Until: t0.Add(time.Duration(rng.Int64N(int64(2*day))) - day), Count: 1 + rng.IntN(4)}
		}
		ms = append(ms, m)
	}
	return ms, st
}

// checkInvariants holds for every decision: rejected never selected,
// pinned always selected, the set's size within bounds, no smearing mix
// outside pinned servers, consistent added/removed lists and reasons.
func checkInvariants(t testing.TB, d Decision, ms []Measurement, cfg Config) {
	t.Helper()
	require.Len(t, d.Candidates, len(ms))
	pinned, sel := 0, map[netip.Addr]bool{}
	for _, a := range d.Selected {
		sel[a] = true
	}
	require.Len(t, sel, len(d.Selected), "no duplicates in the set")
	for i, c := range d.Candidates {
		require.Equal(t, i+1, c.Rank)
		require.NotEmpty(t, c.Reason, c.Address)
		require.Equal(t, c.Verdict == Selected, sel[c.Address])
		if c.Pinned {
			pinned++
			require.Equal(t, Selected, c.Verdict, "pinned %s: %s", c.Address, c.Reason)
			continue
		}
		if c.Verdict == Selected {
			require.Equal(t, d.Smearing, c.Smearing, "no smearing mix: %s", c.Address)
			if !c.Current || !c.pending && !c.silent && !(c.nts() && c.softOnly() && cfg.policy() != AuthOff) {
				require.Empty(t, c.Failed, "a server failing a filter is never selected: %s", c.Address)
			}
			if c.silent {
				require.True(t, strings.HasPrefix(c.Reason, "kept: "), "a silent member is selected only when kept: %s", c.Reason)
			}
		}
		if len(c.Failed) > 0 && !c.pending && !((c.silent || c.softOnly()) && c.Verdict == Selected) {
			require.Equal(t, Rejected, c.Verdict, "%s: %s", c.Address, c.Reason)
		}
	}
	require.LessOrEqual(t, len(d.Selected), max(cfg.SetSize, pinned))
	// Never shrinks below the minimum while usable servers exist: pinned
	// ones, and healthy ones of the set's class that score min_score or
	// are current members.
	usable := 0
	for _, c := range d.Candidates {
		// Under require a plain server that is not a member is not usable.
		authOK := c.nts() || c.Current || cfg.policy() != AuthRequire
		if c.Pinned || (len(c.Failed) == 0 && c.Smearing == d.Smearing && authOK && (c.Score >= cfg.MinScore || c.Current)) {
			usable++
		}
	}
	require.GreaterOrEqual(t, len(d.Selected), min(cfg.minSet(), usable), "set %v, %d usable", d.Selected, usable)
	require.Equal(t, len(d.Added) > 0 || len(d.Removed) > 0, d.Changed)
	checkAuthInvariants(t, d, cfg)
}

// checkAuthInvariants: under prefer and require no NTS member is traded
// for plain NTP unless it failed a hard filter (silence included), and
// require adds no plain server.
func checkAuthInvariants(t testing.TB, d Decision, cfg Config) {
	t.Helper()
	if cfg.policy() == AuthOff {
		return
	}
	keepable, ntsSel, plainPinned := 0, 0, 0
	for _, c := range d.Candidates {
		switch {
		case c.Pinned && !c.nts():
			plainPinned++
		case c.Pinned:
		case c.Current && c.nts() && c.Smearing == d.Smearing && !c.silent && (c.healthy() || c.softOnly() || c.pending):
			keepable++
		}
		if c.Verdict == Selected && c.nts() {
			ntsSel++
		}
		if cfg.policy() == AuthRequire && c.Verdict == Selected && !c.Current && !c.Pinned {
			require.True(t, c.nts(), "require: %s added plain", c.Address)
		}
	}
	require.GreaterOrEqual(t, ntsSel, min(keepable, cfg.SetSize-plainPinned), "NTS members kept: %v", d.Selected)
}

// Shuffling the measurements changes nothing in the decision or the state.
func TestDecisionIndependentOfInputOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for run := 0; run < 200; run++ {
		ms, st := randomScenario(rng, 1+rng.IntN(40))
		cfg := DefaultConfig()
		cfg.SetSize = 1 + rng.IntN(MaxSetSize)
		d1, s1, err := Decide(Input{Measurements: ms}, st, t0, cfg)
		require.NoError(t, err)
		checkInvariants(t, d1, ms, cfg)
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		d2, s2, err := Decide(Input{Measurements: ms}, st, t0, cfg)
		require.NoError(t, err)
		j1, _ := json.Marshal(d1)
		j2, _ := json.Marshal(d2)
		require.JSONEq(t, string(j1), string(j2), "run %d", run)
		require.Equal(t, s1, s2, "run %d", run)
	}
}

// The JSON keys scripts rely on (probe --json and apply --json).
func TestDecisionJSONKeys(t *testing.T) {
	d, _ := decide(t, []Measurement{good("192.0.2.1", "a.example")}, State{}, nil)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	for _, k := range []string{"candidates", "selected", "added", "removed", "changed", "majority", "smearing"} {
		require.Contains(t, doc, k)
	}
	c := doc["candidates"].([]any)[0].(map[string]any)
	for _, k := range []string{"server", "address", "origin", "offset_s", "delay_s", "jitter_s", "stratum", "refid",
		"leap", "root_distance_s", "reach", "samples_sent", "samples_ok", "kod", "unsynchronized",
		"score", "verdict", "reason", "rank", "sub_scores"} {
		require.Contains(t, c, k)
	}
	require.Equal(t, "selected", c["verdict"])
	require.Equal(t, 1.0, c["reach"])
}
