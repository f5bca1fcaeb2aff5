package scoring

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const day = 24 * time.Hour

// decideAt is decide at a given time.
func decideAt(t *testing.T, now time.Time, ms []Measurement, st State) (Decision, State) {
	t.Helper()
	d, next, err := Decide(Input{Measurements: ms}, st, now, DefaultConfig())
	require.NoError(t, err)
	return d, next
}

// witness is a server that answers, so that another's silence counts.
var witness = good("198.51.100.77", "witness.example")

func TestBlacklistAfterThreeSilentRuns(t *testing.T) {
	silent := good("192.0.2.1", "silent.example")
	silent.SamplesOK = 0
	addr := silent.Address
	var st State
	now := t0
	for run := 1; run <= 2; run++ {
		_, st = decideAt(t, now, []Measurement{silent, witness}, st)
		require.Equal(t, run, st.Failures[addr])
		require.Len(t, st.Evidence[addr], run)
		require.Empty(t, st.Blacklist)
		now = now.Add(6 * time.Hour)
	}
	d, st := decideAt(t, now, []Measurement{silent, witness}, st)
	e, ok := st.Blacklisted(addr, now)
	require.True(t, ok)
	require.Equal(t, BlacklistEntry{Name: "silent.example", Reason: "no reply in 3 runs in a row", Kind: BlacklistSilent,
		Since: now, Until: now.Add(day), Count: 1, Evidence: []string{
			"2025-01-02T03:04:05Z: no reply to 4 samples (probe); 1 of 1 others measured so answered",
			"2025-01-02T09:04:05Z: no reply to 4 samples (probe); 1 of 1 others measured so answered",
			"2025-01-02T15:04:05Z: no reply to 4 samples (probe); 1 of 1 others measured so answered",
		}}, e)
	require.Zero(t, st.Failures[addr])
	require.Empty(t, st.Evidence)
	require.Equal(t, "no reply to any of 4 samples; blacklisted until 2025-01-03T15:04:05Z (1st time: no reply in 3 runs in a row)",
		cand(t, d, "192.0.2.1").Reason)
	require.Contains(t, d.Notes, "192.0.2.1 (silent.example): no reply in 3 runs in a row: blacklisted until 2025-01-03T15:04:05Z (1st time)")

	// An answer (at chronyd, or a pinned probe) lifts a silence entry: the
	// evidence it rested on is gone. The entry is kept, expired, so a
	// repeat doubles the term.
	healthy := good("192.0.2.1", "silent.example")
	lifted := now.Add(day / 2)
	d, st = decideAt(t, lifted, []Measurement{healthy, witness}, st)
	require.Equal(t, Selected, cand(t, d, "192.0.2.1").Verdict)
	require.Contains(t, d.Notes, "192.0.2.1 (silent.example): blacklist lifted: it answers again")
	require.Equal(t, lifted, st.Blacklist[addr].Lifted)
	require.False(t, st.Blacklist[addr].Active(lifted))
}

// A silence counts only when enough others answered in the same run: at
// least one and at least half of those measured the same way.
func TestBlacklistNeedsOthersToAnswer(t *testing.T) {
	mk := func(addr string, ok bool) Measurement {
		m := good(addr, addr)
		if !ok {
			m.SamplesOK = 0
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		ms     []Measurement
		counts bool
	}{
		{"alone", []Measurement{mk("192.0.2.1", false)}, false},
		{"all silent (an outage)", []Measurement{mk("192.0.2.1", false), mk("192.0.2.2", false), mk("192.0.2.3", false)}, false},
		{"one of three answered", []Measurement{mk("192.0.2.1", false), mk("192.0.2.2", false), mk("192.0.2.3", true)}, false},
		{"two of four answered", []Measurement{mk("192.0.2.1", false), mk("192.0.2.2", false), mk("192.0.2.3", true), mk("192.0.2.4", true)}, true},
		{"chronyd's answers do not vouch for the probe", func() []Measurement {
			c1, c2 := mk("192.0.2.3", true), mk("192.0.2.4", true)
			c1.Origin, c2.Origin = OriginChronyd, OriginChronyd
			return []Measurement{mk("192.0.2.1", false), c1, c2}
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := State{Failures: map[netip.Addr]int{netip.MustParseAddr("192.0.2.1"): 2}}
			d, next := decideAt(t, t0, tc.ms, st)
			if tc.counts {
				require.Contains(t, next.Blacklist, netip.MustParseAddr("192.0.2.1"))
				return
			}
			require.Empty(t, next.Blacklist)
			require.Equal(t, 2, next.Failures[netip.MustParseAddr("192.0.2.1")], "not counted, not reset")
			require.NotEmpty(t, d.Notes)
		})
	}
}

// An answer resets the count: K runs must be consecutive.
func TestBlacklistNeedsConsecutiveRuns(t *testing.T) {
	silent, healthy := good("192.0.2.1", "x.example"), good("192.0.2.1", "x.example")
	silent.SamplesOK = 0
	var st State
	for _, m := range []Measurement{silent, silent, healthy, silent, silent} {
		_, st = decideAt(t, t0, []Measurement{m, witness}, st)
	}
	require.Empty(t, st.Blacklist)
	require.Equal(t, 2, st.Failures[silent.Address])
}

// DENY blacklists at once; each repeat doubles the term up to 30 days;
// an entry expired for 30 days is forgotten and the next starts at 1 day.
func TestBlacklistDoublesAndExpires(t *testing.T) {
	deny := good("192.0.2.1", "deny.example")
	deny.KoD, deny.SamplesOK = "DENY", 0
	addr := deny.Address
	var st State
	now := t0
	var terms []time.Duration
	for i := 0; i < 7; i++ {
		var d Decision
		d, st = decideAt(t, now, []Measurement{deny}, st)
		require.Contains(t, cand(t, d, "192.0.2.1").Reason, "kiss-o'-death DENY")
		e, ok := st.Blacklisted(addr, now)
		require.True(t, ok)
		terms = append(terms, e.Until.Sub(e.Since))
		now = e.Until // it expires exactly then and offends again
		_, ok = st.Blacklisted(addr, now)
		require.False(t, ok)
	}
	require.Equal(t, []time.Duration{day, 2 * day, 4 * day, 8 * day, 16 * day, 30 * day, 30 * day}, terms)
	require.Equal(t, 7, st.Blacklist[addr].Count)

	// Forgotten after 30 days of good behaviour past expiry.
	_, st = decideAt(t, now.Add(30*day-time.Second), nil, st)
	require.Contains(t, st.Blacklist, addr)
	_, st = decideAt(t, now.Add(30*day), nil, st)
	require.NotContains(t, st.Blacklist, addr)
	_, st = decideAt(t, now.Add(31*day), []Measurement{deny}, st)
	require.Equal(t, 1, st.Blacklist[addr].Count)
}

// Decide never changes the state it is given, and the state survives JSON.
func TestStateIsAValue(t *testing.T) {
	silent := good("192.0.2.1", "x.example")
	silent.SamplesOK = 0
	in := State{
		Failures:  map[netip.Addr]int{silent.Address: 2},
		Blacklist: map[netip.Addr]BlacklistEntry{netip.MustParseAddr("192.0.2.9"): {Until: t0.Add(day), Count: 1}},
	}
	before, err := json.Marshal(in)
	require.NoError(t, err)
	_, next := decideAt(t, t0, []Measurement{silent, witness}, in)
	after, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after))
	require.Len(t, next.Blacklist, 2)

	b, err := json.Marshal(next)
	require.NoError(t, err)
	var back State
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, next.Blacklist, back.Blacklist)
	require.Contains(t, string(b), `"192.0.2.1":{"server":"x.example","reason":"no reply in 3 runs in a row","kind":"silent"`)
}
