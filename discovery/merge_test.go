package discovery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDedupe(t *testing.T) {
	keep := []Candidate{{Name: "time.nist.gov", Port: 123, Origin: OriginKeep, Pinned: true}}
	user := []Candidate{
		{Name: "ntp.example.org", Port: 123, Origin: "servers-file:/l:1"},
		{Name: "2001:db8::1", Port: 123, Origin: "servers-file:/l:2"},
		{Name: "ntp.example.org", Port: 10123, Origin: "servers-file:/l:3"}, // another port: another candidate
	}
	chronyd := []Candidate{
		{Name: "2001:db8::1", Port: 123, Origin: OriginChronyd},
		{Name: "192.0.2.7", Port: 123, Origin: OriginChronyd},
	}
	catalog := []Candidate{
		{Name: "time.nist.gov", Port: 123, Origin: OriginCatalog, Operator: "NIST", MinSpacing: 4 * time.Second},
		{Name: "ntp.example.org", Port: 123, Origin: OriginCatalog, Operator: "Example", NTS: true, IPv6: true},
	}
	got := dedupe(keep, user, chronyd, catalog)
	require.Equal(t, []Candidate{
		{Name: "time.nist.gov", Port: 123, Origin: OriginKeep, Pinned: true, Operator: "NIST", MinSpacing: 4 * time.Second},
		{Name: "ntp.example.org", Port: 123, Origin: "servers-file:/l:1", Operator: "Example", NTS: true, IPv6: true},
		{Name: "2001:db8::1", Port: 123, Origin: "servers-file:/l:2"},
		{Name: "ntp.example.org", Port: 10123, Origin: "servers-file:/l:3"},
		{Name: "192.0.2.7", Port: 123, Origin: OriginChronyd},
	}, got)
}

func TestKeyNormalises(t *testing.T) {
	a := Candidate{Name: "NTP.Example.org.", Port: 123}
	b := Candidate{Name: "ntp.example.org", Port: 123}
	require.Equal(t, a.Key(), b.Key())
	require.Equal(t, Candidate{Name: "2001:DB8:0:0::1", Port: 1}.Key(), Candidate{Name: "2001:db8::1", Port: 1}.Key())
	require.NotEqual(t, Candidate{Name: "a.example", Port: 1}.Key(), Candidate{Name: "a.example", Port: 2}.Key())
}

func TestCapCandidates(t *testing.T) {
	c := []Candidate{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	kept, dropped := capCandidates(c, 2)
	require.Equal(t, []string{"a", "b"}, names(kept))
	require.Equal(t, []string{"c"}, names(dropped))
	kept, dropped = capCandidates(c, 3)
	require.Len(t, kept, 3)
	require.Empty(t, dropped)
}

func TestOrderCatalog(t *testing.T) {
	item := func(name, op, country string) catalogItem {
		return catalogItem{Candidate: Candidate{Name: name, Operator: op}, country: country, anycast: country == ""}
	}
	items := []catalogItem{
		item("any1.example", "Any", ""),
		item("de1.example", "DE-Op", "de"),
		item("de2.example", "DE-Op", "de"),
		item("se1.example", "SE-Op", "se"),
		item("us1.example", "US-Op", "us"),
		item("any2.example", "Any", ""),
		item("other.example", "Other", ""),
		item("de3.example", "DE-Other", "de"),
	}
	berlin := Region{Country: "de", Continent: "europe"}
	tests := []struct {
		name             string
		region           Region
		preferRegional   bool
		fallbackToGlobal bool
		want             []string
	}{
		{"regional first, operators interleaved", berlin, true, true, []string{
			"de1.example", "de3.example", "de2.example", // country, DE-Op's second after DE-Other's first
			"se1.example",                                   // continent
			"any1.example", "other.example", "any2.example", // anywhere
			"us1.example"}}, // elsewhere
		{"no global fallback drops other continents", berlin, true, false, []string{
			"de1.example", "de3.example", "de2.example", "se1.example", "any1.example", "other.example", "any2.example"}},
		{"not regional: catalog order, interleaved", berlin, false, true, []string{
			"any1.example", "de1.example", "se1.example", "us1.example", "other.example", "de3.example", "de2.example", "any2.example"}},
		{"no region: nothing is elsewhere", Region{}, true, false, []string{
			"any1.example", "de1.example", "se1.example", "us1.example", "other.example", "de3.example", "de2.example", "any2.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := orderCatalog(items, tc.region, tc.preferRegional, tc.fallbackToGlobal)
			require.Equal(t, tc.want, names(got))
		})
	}
}
