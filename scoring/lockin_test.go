package scoring

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// The margin must not lock in a member failing in a way its score hides.
// Each replay shows the member kept without the rule (the flap it would
// otherwise cause is the swap back and forth) and replaced with it.

// Reach falling run after run: 8/8 → 7/8 → 6/8 → 5/8. The member's
// score stays within 15 % of the challenger's for the first runs, but the
// fall itself is the evidence: replaced as soon as it fell twice.
func TestLockInFallingReach(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	member, challenger := good("192.0.2.1", "a.example"), good("198.51.100.1", "b.example")
	member.Origin, member.SamplesSent = OriginChronyd, 8
	ds := replay(t, 5, one, func(run int) []Measurement {
		m := member
		m.SamplesOK = 8 - run
		if run == 0 {
			return []Measurement{m}
		}
		return []Measurement{m, challenger}
	})
	// Run 0 fills the set; runs 1 and 2 are its first runs as a member
	// (7/8, then the first fall to 6/8); run 3 is the second fall.
	require.Equal(t, []string{"192.0.2.1"}, selected(ds[2]), "one fall: kept")
	require.Contains(t, cand(t, ds[2], "192.0.2.1").Reason, "kept")
	require.Equal(t, []string{"198.51.100.1"}, selected(ds[3]), "two falls in a row: replaced at once")
	require.Contains(t, ds[3].Removed[0].Reason, "its reach fell in 2 runs in a row")
	require.Greater(t, cand(t, ds[2], "192.0.2.1").Score, cand(t, ds[2], "198.51.100.1").Score*0.85,
		"the control: the score alone kept it within the margin")
}

// chronyd marks a member '~' run after run: replaced once it did twice.
func TestLockInJitteryAtChronyd(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	member, challenger := good("192.0.2.1", "a.example"), good("198.51.100.1", "b.example")
	member.Origin, member.SamplesSent, member.SamplesOK = OriginChronyd, 8, 8
	member.ChronydState = StateJittery
	ds := replay(t, 3, one, func(run int) []Measurement {
		if run == 0 {
			return []Measurement{member}
		}
		return []Measurement{member, challenger}
	})
	require.Equal(t, []string{"192.0.2.1"}, selected(ds[1]), "marked '~' in its 1st run as a member: kept")
	require.Equal(t, []string{"198.51.100.1"}, selected(ds[2]), "and in its 2nd: replaced at once")
	require.Contains(t, ds[2].Removed[0].Reason, "chronyd marked it '~' (jittery) in 2 runs in a row")
}

// Jitter an order of magnitude worse than the challenger's and over the
// good band, hidden behind perfect reach and stratum: the margin is
// waived, the stability threshold is not.
func TestLockInTenfoldJitter(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	member, challenger := good("192.0.2.1", "a.example"), good("198.51.100.1", "b.example")
	member.Stratum, member.Jitter = 1, 0.0065
	challenger.Stratum, challenger.Jitter, challenger.Delay = 3, 0.0005, 0.030
	ms := func(run int) []Measurement {
		if run == 0 {
			return []Measurement{member}
		}
		return []Measurement{member, challenger}
	}
	// The control: the margin alone keeps it.
	d, _ := decide(t, []Measurement{func() Measurement { m := member; m.Current = true; return m }(), challenger}, State{}, one)
	require.Greater(t, cand(t, d, "192.0.2.1").Score, cand(t, d, "198.51.100.1").Score*0.85, "within the margin")
	ds := replay(t, 4, one, ms)
	require.Equal(t, []string{"192.0.2.1"}, selected(ds[1]))
	require.Contains(t, cand(t, ds[1], "192.0.2.1").Reason, "ten times the challenger's")
	require.Contains(t, cand(t, ds[1], "192.0.2.1").Reason, "1st run of 2")
	require.Equal(t, []string{"198.51.100.1"}, selected(ds[2]))
	require.False(t, ds[3].Changed, "then it holds")
}

// A silent member is replaced at once when there is a server to take its
// place, and kept when there is none: the set never shrinks for silence.
func TestSilentMemberReplacedOnlyByAServer(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	member, challenger := good("192.0.2.1", "a.example"), good("198.51.100.1", "b.example")
	silent := member
	silent.SamplesOK = 0
	ds := replay(t, 4, one, func(run int) []Measurement {
		switch run {
		case 0:
			return []Measurement{member}
		case 1, 2:
			return []Measurement{silent}
		}
		return []Measurement{silent, challenger}
	})
	require.Equal(t, []string{"192.0.2.1"}, selected(ds[1]))
	require.Contains(t, cand(t, ds[1], "192.0.2.1").Reason, "but no eligible server can replace it")
	require.Equal(t, []string{"192.0.2.1"}, selected(ds[2]))
	require.Equal(t, []string{"198.51.100.1"}, selected(ds[3]), "replaced in the first run a server is there")
	require.Equal(t, "replaced by 198.51.100.1: no reply to any of 4 samples", ds[3].Removed[0].Reason)
}

// A member of the daemon's pool is measured but never selected or removed.
func TestDaemonPoolMembersAreNotTheAgents(t *testing.T) {
	m := good("192.0.2.1", "2.debian.pool.ntp.org")
	m.DaemonPool = "2.debian.pool.ntp.org"
	d, _ := decide(t, []Measurement{m, good("198.51.100.1", "b.example")}, State{}, nil)
	require.Equal(t, []string{"198.51.100.1"}, selected(d))
	require.Equal(t, Standby, cand(t, d, "192.0.2.1").Verdict)
	require.Contains(t, cand(t, d, "192.0.2.1").Reason, "member of chronyd's pool 2.debian.pool.ntp.org")
}

// While the daemon's registers still show an outage, a member cannot lose
// a run: its streak is neither advanced nor reset, and no trend moves.
func TestRecoveringFreezesTheHysteresis(t *testing.T) {
	one := func(c *Config) { c.SetSize, c.MinSetSize = 1, 1 }
	member, challenger := scored(t, "192.0.2.1", 60), scored(t, "198.51.100.1", 90)
	member.Current = true
	st := State{Streaks: map[netip.Addr]Streak{member.Address: {Runs: 1, Challenger: challenger.Address}}}
	cfg := DefaultConfig()
	one(&cfg)
	d, next, err := Decide(Input{Measurements: []Measurement{member, challenger}, Recovering: true}, st, t0, cfg)
	require.NoError(t, err)
	require.Equal(t, []string{"192.0.2.1"}, selected(d))
	require.Contains(t, cand(t, d, "192.0.2.1").Reason, "not counted while recovering from an outage")
	require.Equal(t, st.Streaks, next.Streaks)
	// The same run, recovered: the second losing run replaces it.
	d, _, err = Decide(Input{Measurements: []Measurement{member, challenger}}, st, t0, cfg)
	require.NoError(t, err)
	require.Equal(t, []string{"198.51.100.1"}, selected(d))
}
