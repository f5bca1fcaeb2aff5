package scoring

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Each hard filter rejects a server that would otherwise be the best one,
// with its reason; healthy servers fill the rest of the set.
func TestHardFilters(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Measurement)
		reason string
	}{
		{"kiss-o'-death RATE", func(m *Measurement) { m.KoD = "RATE" }, "kiss-o'-death RATE"},
		{"no reply", func(m *Measurement) { m.SamplesOK = 0 }, "no reply to any of 4 samples"},
		{"not measured", func(m *Measurement) { m.SamplesSent, m.SamplesOK = 0, 0 }, "not measured"},
		{"leap 3", func(m *Measurement) { m.Leap = 3 }, "unsynchronised: leap indicator 3 (alarm)"},
		{"stratum 0", func(m *Measurement) { m.Stratum = 0 }, "unsynchronised: stratum 0"},
		{"stratum 16", func(m *Measurement) { m.Stratum = 16 }, "unsynchronised: stratum 16"},
		{"leap 3 and stratum 16", func(m *Measurement) { m.Leap, m.Stratum = 3, 16 },
			"unsynchronised: leap indicator 3 (alarm), stratum 16"},
		{"flagged unsynchronised", func(m *Measurement) { m.Unsynchronized = true }, "unsynchronised: reported by probe"},
		{"stratum 4", func(m *Measurement) { m.Stratum = 4 }, "stratum 4 outside 1..3"},
		{"root distance", func(m *Measurement) { m.RootDelay, m.RootDispersion = 1.0, 1.1 },
			"root distance 1.6 s over the 1.5 s limit"},
		{"NaN offset", func(m *Measurement) { m.Offset = math.NaN() }, "invalid measurement: offset NaN"},
		{"negative delay", func(m *Measurement) { m.Delay = -0.001 }, "invalid measurement: delay -0.001"},
		{"more answers than samples", func(m *Measurement) { m.SamplesOK = 5 }, "invalid measurement: 5 of 4 samples answered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			best := good("192.0.2.1", "best.example")
			best.Jitter = 0
			tc.mod(&best)
			ms := []Measurement{best,
				good("198.51.100.1", "b.example"), good("203.0.113.1", "c.example"), good("192.0.3.1", "d.example")}
			d, _ := decide(t, ms, State{}, nil)
			c := cand(t, d, "192.0.2.1")
			require.Equal(t, Rejected, c.Verdict)
			require.Equal(t, tc.reason, c.Reason)
			require.Equal(t, 4, c.Rank, "rejected candidates rank last")
			require.ElementsMatch(t, []string{"198.51.100.1", "203.0.113.1", "192.0.3.1"}, selected(d))
		})
	}
}

func TestBelowMinScoreRejected(t *testing.T) {
	m := good("192.0.2.1", "slow.example")
	m.Jitter, m.Delay, m.SamplesOK, m.Stratum = 0.050, 0.400, 2, 3 // poor
	d, _ := decide(t, []Measurement{m}, State{}, nil)
	c := cand(t, d, "192.0.2.1")
	require.Equal(t, Rejected, c.Verdict)
	require.Regexp(t, `^score \d+\.\d below min_score 60$`, c.Reason)
	require.Empty(t, d.Selected)
	require.Contains(t, d.Notes, "only 0 usable server(s): the set is below the minimum of 3")
}

// A pinned server is always selected, even when it fails a filter; the
// reason still shows the failure.
func TestPinnedAlwaysIn(t *testing.T) {
	p := good("192.0.2.1", "mine.example")
	p.Pinned, p.Leap = true, 3
	d, st := decide(t, []Measurement{p, good("198.51.100.1", "b.example")}, State{}, nil)
	c := cand(t, d, "192.0.2.1")
	require.Equal(t, Selected, c.Verdict)
	require.Equal(t, "pinned (keep), although: unsynchronised: leap indicator 3 (alarm)", c.Reason)

	// Never blacklisted either, however often it fails.
	p.Leap, p.SamplesOK, p.KoD = 0, 0, "DENY"
	for i := 0; i < 5; i++ {
		d, st = decide(t, []Measurement{p}, st, nil)
	}
	require.Empty(t, st.Blacklist)
	require.Equal(t, Selected, cand(t, d, "192.0.2.1").Verdict)

	// More pinned servers than set_size: all stay, nothing else joins.
	var ms []Measurement
	for _, a := range []string{"192.0.2.1", "192.0.3.1", "192.0.4.1"} {
		m := good(a, a)
		m.Pinned = true
		ms = append(ms, m)
	}
	ms = append(ms, good("198.51.100.1", "b.example"))
	d, _ = decide(t, ms, State{}, func(c *Config) { c.SetSize = 2; c.MinSetSize = 2 })
	require.ElementsMatch(t, []string{"192.0.2.1", "192.0.3.1", "192.0.4.1"}, selected(d))
}

// With fewer than the minimum passing, healthy current members stay even
// below min_score rather than shrink the set.
func TestScarceKeepsHealthyMembers(t *testing.T) {
	a, b, c := good("192.0.2.1", "a.example"), good("198.51.100.1", "b.example"), good("203.0.113.1", "c.example")
	c.Jitter, c.Delay, c.SamplesOK = 0.050, 0.2, 2 // poor but healthy
	c.Current = true
	d, st := decide(t, []Measurement{a, b, c}, State{}, nil)
	require.ElementsMatch(t, []string{"192.0.2.1", "198.51.100.1", "203.0.113.1"}, selected(d))
	require.Regexp(t, `^kept: score \d+\.\d is below min_score 60, but no eligible server can replace it `+
		`and the set may not shrink below 3$`, cand(t, d, "203.0.113.1").Reason)
	require.Empty(t, st.Streaks)

	// A fourth good server appears: it fills the empty slot at once, and
	// the poor member goes after stability_threshold runs.
	e := good("192.0.3.9", "e.example")
	ms := markCurrent([]Measurement{a, b, c, e}, d.Selected)
	d, st = decide(t, ms, st, nil)
	require.Len(t, d.Selected, 4)
	require.Contains(t, selected(d), "203.0.113.1")
	require.Contains(t, cand(t, d, "203.0.113.1").Reason, "1st run of 2")
	ms = markCurrent(ms, d.Selected)
	d, _ = decide(t, ms, st, nil)
	require.NotContains(t, selected(d), "203.0.113.1")
	require.Len(t, d.Selected, 3)
	require.Regexp(t, `^removed: score \d+\.\d is below min_score 60, 2nd run in a row$`, cand(t, d, "203.0.113.1").Reason)
	require.Equal(t, Rejected, cand(t, d, "203.0.113.1").Verdict)
}

// A current set larger than set_size loses its lowest members at once.
func TestTrimOversizedSet(t *testing.T) {
	var ms []Measurement
	for i, a := range []string{"192.0.2.1", "192.0.3.1", "192.0.4.1", "192.0.5.1", "192.0.6.1", "192.0.7.1"} {
		m := good(a, a)
		m.Jitter = 0.0001 * float64(i+1)
		m.Current = true
		ms = append(ms, m)
	}
	d, _ := decide(t, ms, State{}, nil)
	require.Equal(t, []string{"192.0.2.1", "192.0.3.1", "192.0.4.1", "192.0.5.1"}, selected(d))
	require.Len(t, d.Removed, 2)
	require.Regexp(t, `^removed: the set holds 4 and score \d+\.\d ranks below the other members$`, d.Removed[0].Reason)
}

// A member chronyd has not polled yet is kept, not removed.
func TestUnmeasuredMemberKept(t *testing.T) {
	m := good("192.0.2.1", "new.example")
	m.Origin, m.SamplesSent, m.SamplesOK, m.Current = OriginChronyd, 0, 0, true
	d, _ := decide(t, []Measurement{m, good("198.51.100.1", "b.example")}, State{}, nil)
	c := cand(t, d, "192.0.2.1")
	require.Equal(t, Selected, c.Verdict)
	require.Equal(t, "kept: not measured yet", c.Reason)
	require.Empty(t, d.Removed)
}
