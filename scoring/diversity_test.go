package scoring

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOperatorKey(t *testing.T) {
	tests := []struct {
		name, operator, addr string
		pool                 bool
		want                 string
	}{
		{"time.cloudflare.com", "", "162.159.200.1", false, "domain cloudflare.com"},
		{"Time.Google.com.", "", "216.239.35.0", false, "domain google.com"},
		{"ntp.example.co.uk", "", "192.0.2.1", false, "domain example.co.uk"},
		{"time.nist.gov", "NIST", "129.6.15.28", false, "operator nist"},
		{"0.de.pool.ntp.org", "", "192.0.2.77", false, "network 192.0.2.0/24"},
		{"2.pool.ntp.org", "", "2001:db8:1:2::5", false, "network 2001:db8:1::/48"},
		{"0.vendor.pool.example", "", "198.51.100.3", true, "network 198.51.100.0/24"},
		{"192.0.2.10", "", "192.0.2.10", false, "network 192.0.2.0/24"},
		{"::ffff:192.0.2.10", "", "::ffff:192.0.2.10", false, "network 192.0.2.0/24"},
		{"localhost", "", "127.0.0.1", false, "host localhost"},
		{"", "", "127.1.2.3", false, "network 127.1.2.0/24"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Measurement{Name: tc.name, Operator: tc.operator, Address: netip.MustParseAddr(tc.addr), Pool: tc.pool}
			require.Equal(t, tc.want, operatorKey(&m))
		})
	}
}

func TestUpstream(t *testing.T) {
	m := Measurement{Stratum: 2, RefID: "192.0.2.1"}
	require.Equal(t, uint32(0xC0000201), upstream(&m))
	m.RefIDRaw = 0xdeadbeef
	require.Equal(t, uint32(0xdeadbeef), upstream(&m), "the raw refid wins")
	s1 := Measurement{Stratum: 1, RefID: "GPS", RefIDRaw: 0x47505300}
	require.Zero(t, upstream(&s1), "a stratum-1 refid names a clock, not an upstream")
}

// diverse builds candidates for the diversity tests: four healthy servers
// with decreasing scores, by jitter.
func diverseSet() []Measurement {
	a := good("192.0.2.1", "a.one.example")
	b := good("192.0.2.2", "b.one.example") // same operator and /24 as a
	c := good("198.51.100.1", "c.two.example")
	d := good("203.0.113.1", "d.three.example")
	e := good("203.0.113.2", "e.four.example") // same /24 as d, its own operator
	for i, m := range []*Measurement{&a, &b, &c, &d, &e} {
		m.Jitter = 0.0001 * float64(i+1)
		m.RefID = ""
	}
	return []Measurement{a, b, c, d, e}
}

func TestDiversityPrefersDistinctOperators(t *testing.T) {
	d, _ := decide(t, diverseSet(), State{}, nil)
	// b scores second best but shares a's operator; e shares d's /24 and
	// is taken only by relaxing the prefix rule, before b (operator).
	require.Equal(t, []string{"192.0.2.1", "198.51.100.1", "203.0.113.1", "203.0.113.2"}, selected(d))
	require.Equal(t, []string{"prefix"}, d.Relaxed)
	require.Equal(t, "selected: score 96.8, rank 5; same network (203.0.113.0/24) as 203.0.113.1 "+
		"(prefix rule relaxed: too few diverse servers)", cand(t, d, "203.0.113.2").Reason)
	b := cand(t, d, "192.0.2.2")
	require.Equal(t, Standby, b.Verdict)
	require.Equal(t, "standby: score 97.8, rank 2; the set of 4 is full; same operator (domain one.example) as 192.0.2.1", b.Reason)
}

func TestDiversityRelaxesInOrder(t *testing.T) {
	// Three servers of one operator with one upstream, in one /24, and a
	// set of three: every rule has to give, operator last.
	var ms []Measurement
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		m := good(a, "ntp.one.example")
		m.RefID = "10.9.9.9"
		ms = append(ms, m)
	}
	d, _ := decide(t, ms, State{}, func(c *Config) { c.SetSize = 3 })
	require.Len(t, d.Selected, 3)
	require.Equal(t, []string{"operator"}, d.Relaxed, "only the rule actually broken is reported")

	// Different operators sharing one upstream and one /24: the prefix
	// and refid rules give, the operator rule holds.
	ms = ms[:0]
	for i, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		m := good(a, []string{"a.example", "b.example", "c.example"}[i])
		m.RefID = "10.9.9.9"
		ms = append(ms, m)
	}
	d, _ = decide(t, ms, State{}, func(c *Config) { c.SetSize = 3 })
	require.Len(t, d.Selected, 3)
	require.Equal(t, []string{"refid"}, d.Relaxed)
	require.Contains(t, cand(t, d, "192.0.2.2").Reason, "same upstream (refid 10.9.9.9) as 192.0.2.1 (refid rule relaxed")
}

func TestRefIDOfAnotherCandidateConflicts(t *testing.T) {
	up := good("192.0.2.1", "up.example")
	down := good("198.51.100.1", "down.example")
	down.RefID = "192.0.2.1" // takes its time from up
	other := good("203.0.113.1", "other.example")
	other.Jitter = 0.004 // worse than down
	other.RefID = "10.7.7.7"
	d, _ := decide(t, []Measurement{up, down, other}, State{}, func(c *Config) { c.SetSize = 2 })
	require.Equal(t, []string{"192.0.2.1", "203.0.113.1"}, selected(d))
	require.Contains(t, cand(t, d, "198.51.100.1").Reason, "takes its time from 192.0.2.1")
}

func TestSmearingNeverMixed(t *testing.T) {
	var ms []Measurement
	for i, a := range []string{"216.239.35.0", "216.239.35.4", "216.239.35.8"} {
		m := good(a, "time.google.com")
		m.Smearing, m.Jitter = true, 0.00001*float64(i)
		ms = append(ms, m)
	}
	for i, a := range []string{"192.0.2.1", "198.51.100.1", "203.0.113.1"} {
		m := good(a, []string{"a.example", "b.example", "c.example"}[i])
		m.Jitter = 0.0008
		ms = append(ms, m)
	}
	d, _ := decide(t, ms, State{}, nil)
	require.False(t, d.Smearing, "three operators beat one")
	require.ElementsMatch(t, []string{"192.0.2.1", "198.51.100.1", "203.0.113.1"}, selected(d))
	g := cand(t, d, "216.239.35.0")
	require.Equal(t, Standby, g.Verdict)
	require.Equal(t, "leap-smearing, and the set is non-smearing (never mixed)", g.Reason)

	// A pinned smearing server decides the class.
	ms[0].Pinned = true
	d, _ = decide(t, ms, State{}, nil)
	require.True(t, d.Smearing)
	for _, c := range d.Candidates {
		if c.Verdict == Selected {
			require.True(t, c.Smearing, c.Address)
		}
	}
}
