package scoring

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// good is an excellent, healthy server: stratum 2, 0.2 ms jitter, 1 ms
// round trip, every sample answered, offset 0.
func good(addr, name string) Measurement {
	return Measurement{
		Origin:         OriginProbe,
		Address:        netip.MustParseAddr(addr),
		Name:           name,
		Delay:          0.001,
		Jitter:         0.0002,
		RootDelay:      0.002,
		RootDispersion: 0.001,
		Stratum:        2,
		RefID:          "10.0.0." + addr[len(addr)-1:],
		SamplesSent:    4,
		SamplesOK:      4,
	}
}

// decide runs Decide with the defaults changed by mod and requires no error.
func decide(t testing.TB, ms []Measurement, st State, mod func(*Config)) (Decision, State) {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	d, next, err := Decide(Input{Measurements: ms}, st, t0, cfg)
	require.NoError(t, err)
	return d, next
}

// cand finds addr's candidate in d.
func cand(t testing.TB, d Decision, addr string) Candidate {
	t.Helper()
	a := netip.MustParseAddr(addr)
	for _, c := range d.Candidates {
		if c.Address == a {
			return c
		}
	}
	t.Fatalf("no candidate %s", addr)
	return Candidate{}
}

// selected returns d's set as strings, in rank order.
func selected(d Decision) []string {
	out := make([]string, len(d.Selected))
	for i, a := range d.Selected {
		out[i] = a.String()
	}
	return out
}

// markCurrent sets Current on every measurement whose address is in set.
func markCurrent(ms []Measurement, set []netip.Addr) []Measurement {
	in := map[netip.Addr]bool{}
	for _, a := range set {
		in[a] = true
	}
	out := make([]Measurement, len(ms))
	for i, m := range ms {
		m.Current = in[m.Address]
		out[i] = m
	}
	return out
}
