package scoring

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// srv is good() with a jitter (seconds) to set its score, NTS or plain,
// current or not.
func srv(addr, name string, jitter float64, nts, current bool) Measurement {
	m := good(addr, name)
	m.Jitter, m.Current = jitter, current
	if nts {
		m.Auth = AuthNTS
	}
	return m
}

// eager is the reproduction: valid settings that follow every
// score difference at once.
func eager(set int) func(*Config) {
	return func(c *Config) {
		c.SetSize, c.MinSetSize = set, min(set, c.MinSetSize)
		c.HysteresisPercent, c.StabilityThreshold, c.MaxChangesPerRun = 0, 1, MaxSetSize
	}
}

// With eager settings, two NTS members and better-scoring plain servers:
// prefer keeps the NTS sources (off trades them, as before NTS was known).
func TestAuthPreferNeverTradesNTSForPlain(t *testing.T) {
	ms := []Measurement{
		srv("192.0.2.1", "nts1.example", 0.004, true, true),
		srv("198.51.100.1", "nts2.example", 0.004, true, true),
		srv("203.0.113.2", "plain1.example", 0.0002, false, false),
		srv("203.0.114.3", "plain2.example", 0.0002, false, false),
	}
	for run := 0; run < 3; run++ {
		d, _ := decide(t, ms, State{}, eager(2))
		require.ElementsMatch(t, []string{"192.0.2.1", "198.51.100.1"}, selected(d), "run %d", run)
		require.Less(t, cand(t, d, "192.0.2.1").Score, cand(t, d, "203.0.113.2").Score, "the control: plain scores better")
		require.Contains(t, cand(t, d, "192.0.2.1").Reason, "kept")
	}
	d, _ := decide(t, ms, State{}, func(c *Config) { eager(2)(c); c.Authentication = AuthOff })
	require.ElementsMatch(t, []string{"203.0.113.2", "203.0.114.3"}, selected(d), "off: today's behaviour")

	// An NTS challenger may replace an NTS member on score.
	ms = append(ms, srv("203.0.115.4", "nts3.example", 0.0002, true, false))
	d, _ = decide(t, ms, State{}, eager(2))
	require.Contains(t, selected(d), "203.0.115.4")
	require.Len(t, d.Removed, 1)
	for _, a := range selected(d) {
		require.Equal(t, AuthNTS, cand(t, d, a).Auth, "%s: never plain in an NTS slot", a)
	}
}

// A soft filter (stratum bounds, root distance) keeps an NTS member until
// an NTS server replaces it; a hard failure removes it at once.
func TestAuthPreferSoftAndHardFailures(t *testing.T) {
	member := srv("192.0.2.1", "nts1.example", 0.0005, true, true)
	member.Stratum = 5 // outside 1..3
	plain := srv("203.0.113.2", "plain.example", 0.0002, false, false)
	d, _ := decide(t, []Measurement{member, plain}, State{}, eager(1))
	require.Equal(t, []string{"192.0.2.1"}, selected(d))
	require.Contains(t, cand(t, d, "192.0.2.1").Reason, "no NTS server can replace it")

	ntsC := srv("198.51.100.3", "nts2.example", 0.001, true, false)
	d, _ = decide(t, []Measurement{member, plain, ntsC}, State{}, eager(1))
	require.Equal(t, []string{"198.51.100.3"}, selected(d), "the NTS challenger, not the better plain one")
	require.Contains(t, d.Removed[0].Reason, "stratum 5 outside 1..3")

	d, _ = decide(t, []Measurement{member, plain}, State{}, func(c *Config) { eager(1)(c); c.Authentication = AuthOff })
	require.Equal(t, []string{"203.0.113.2"}, selected(d), "off: the soft filter removes it")

	// Hard: unsynchronised (leap 3) and a falseticker chronyd marked.
	for _, bad := range []func(*Measurement){
		func(m *Measurement) { m.Leap = 3 },
		func(m *Measurement) { m.ChronydState = StateFalseticker },
		func(m *Measurement) { m.KoD = "DENY" },
	} {
		m := srv("192.0.2.1", "nts1.example", 0.0005, true, true)
		bad(&m)
		d, _ = decide(t, []Measurement{m, plain}, State{}, eager(1))
		require.Equal(t, []string{"203.0.113.2"}, selected(d), "%+v: a hard failure is replaced by any server", m)
	}

	// Silent: an NTS challenger first, else a plain one.
	silent := srv("192.0.2.1", "nts1.example", 0, true, true)
	silent.SamplesOK = 0
	d, _ = decide(t, []Measurement{silent, plain, ntsC}, State{}, eager(1))
	require.Equal(t, []string{"198.51.100.3"}, selected(d))
	d, _ = decide(t, []Measurement{silent, plain}, State{}, eager(1))
	require.Equal(t, []string{"203.0.113.2"}, selected(d))

	// Below min_score with no NTS challenger: kept, never removed alone.
	low := srv("192.0.2.1", "nts1.example", 0.5, true, true)
	low.SamplesOK, low.Stratum, low.Delay = 2, 3, 0.4
	d, _ = decide(t, []Measurement{low, srv("198.51.100.1", "nts2.example", 0.0002, true, true)}, State{},
		func(c *Config) { eager(2)(c); c.MinSetSize = 1 })
	require.Less(t, cand(t, d, "192.0.2.1").Score, DefaultMinScore)
	require.Contains(t, selected(d), "192.0.2.1")
	require.Contains(t, cand(t, d, "192.0.2.1").Reason, "no NTS server can replace it")
}

// An empty slot goes to an NTS server within hysteresis_percent of the
// best plain one; beyond the margin the better plain server wins.
func TestAuthPreferFillsWithNTS(t *testing.T) {
	plain := srv("203.0.113.2", "plain.example", 0.0002, false, false)
	near := srv("198.51.100.3", "nts.example", 0.001, true, false)
	far := srv("198.51.100.3", "nts.example", 0.2, true, false)
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }

	d, _ := decide(t, []Measurement{plain, near}, State{}, one)
	require.Greater(t, cand(t, d, "203.0.113.2").Score, cand(t, d, "198.51.100.3").Score)
	require.GreaterOrEqual(t, cand(t, d, "198.51.100.3").Score, 0.85*cand(t, d, "203.0.113.2").Score)
	require.Equal(t, []string{"198.51.100.3"}, selected(d))
	require.Contains(t, cand(t, d, "198.51.100.3").Reason, "NTS preferred over 203.0.113.2")

	d, _ = decide(t, []Measurement{plain, far}, State{}, one)
	require.Less(t, cand(t, d, "198.51.100.3").Score, 0.85*cand(t, d, "203.0.113.2").Score)
	require.Equal(t, []string{"203.0.113.2"}, selected(d))

	d, _ = decide(t, []Measurement{plain, near}, State{}, func(c *Config) { one(c); c.Authentication = AuthOff })
	require.Equal(t, []string{"203.0.113.2"}, selected(d), "off: score alone")
}

// require: only NTS servers are selected; current plain members stay until
// NTS servers replace them, max_changes_per_run at a time.
func TestAuthRequire(t *testing.T) {
	req := func(c *Config) { c.Authentication = AuthRequire; c.SetSize, c.MinSetSize = 2, 2 }
	p1 := srv("192.0.2.1", "plain1.example", 0.0002, false, true)
	p2 := srv("198.51.100.1", "plain2.example", 0.0002, false, true)
	p3 := srv("203.0.116.1", "plain3.example", 0.0001, false, false)
	n1 := srv("203.0.113.2", "nts1.example", 0.003, true, false)
	n2 := srv("203.0.114.3", "nts2.example", 0.003, true, false)

	d, _ := decide(t, []Measurement{p1, p2, p3}, State{}, req)
	require.ElementsMatch(t, []string{"192.0.2.1", "198.51.100.1"}, selected(d), "no NTS server: plain kept, none added")
	require.Empty(t, d.Added)
	require.Contains(t, d.Notes, "selection.authentication = require: 2 plain NTP source(s) kept (192.0.2.1, 198.51.100.1) until verified NTS servers replace them")

	d, _ = decide(t, []Measurement{p1, p2, p3, n1, n2}, State{}, req)
	require.Len(t, d.Added, 1, "max_changes_per_run = 1")
	require.Len(t, d.Removed, 1)
	require.Equal(t, AuthNTS, cand(t, d, d.Added[0].Address.String()).Auth)
	require.Contains(t, d.Removed[0].Reason, "plain NTP (selection.authentication = require)")

	d, _ = decide(t, []Measurement{p1, p2, p3, n1, n2}, State{}, func(c *Config) { req(c); c.MaxChangesPerRun = 2 })
	require.ElementsMatch(t, []string{"203.0.113.2", "203.0.114.3"}, selected(d))

	// Empty set: only NTS fills it, even below set_size.
	d, _ = decide(t, []Measurement{markOff(p1), markOff(p2), n1}, State{}, req)
	require.Equal(t, []string{"203.0.113.2"}, selected(d))
}

func markOff(m Measurement) Measurement { m.Current = false; return m }

// Trimming to set_size drops plain members before NTS ones.
func TestAuthTrimDropsPlainFirst(t *testing.T) {
	ms := []Measurement{
		srv("192.0.2.1", "plain1.example", 0.0002, false, true),
		srv("198.51.100.1", "plain2.example", 0.0002, false, true),
		srv("203.0.113.2", "nts.example", 0.004, true, true),
	}
	d, _ := decide(t, ms, State{}, func(c *Config) { c.SetSize, c.MinSetSize = 2, 2 })
	require.Contains(t, selected(d), "203.0.113.2")
	require.Len(t, d.Removed, 1)
	d, _ = decide(t, ms, State{}, func(c *Config) { c.SetSize, c.MinSetSize = 2, 2; c.Authentication = AuthOff })
	require.NotContains(t, selected(d), "203.0.113.2", "off: the lowest score goes")
}

func TestAuthPolicyValidate(t *testing.T) {
	c := DefaultConfig()
	require.Equal(t, AuthPrefer, c.Authentication)
	c.Authentication = "maybe"
	require.ErrorContains(t, c.Validate(), "authentication = maybe: must be prefer, require or off")
	c.Authentication = ""
	require.NoError(t, c.Validate(), "empty is the default")
}
