package agent

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// TestCatalogNTS: the catalog's NTS servers are used with NTS under prefer
// and require, not under off; a daemon source and a pinned one keep what
// they are; a plain catalog server stays plain.
func TestCatalogNTS(t *testing.T) {
	mk := func() []discovery.Candidate {
		return []discovery.Candidate{
			{Name: "time.cloudflare.com", Origin: discovery.OriginCatalog, NTS: true},
			{Name: "ntp1.example.org", Origin: discovery.OriginCatalog},
			{Name: "nts.netnod.se", Origin: discovery.OriginChronyd, NTS: true},
			{Name: "nts.example.org", Origin: discovery.OriginKeep, NTS: true, Pinned: true},
			{Name: "listed.example.org", Origin: discovery.OriginServers, NTS: true, Auth: discovery.AuthNTS},
		}
	}
	for _, p := range []scoring.AuthPolicy{"", scoring.AuthPrefer, scoring.AuthRequire} {
		c := mk()
		require.Equal(t, 1, catalogNTS(c, p), p)
		var auth []string
		for _, x := range c {
			auth = append(auth, x.Auth)
		}
		require.Equal(t, []string{"nts", "", "", "", "nts"}, auth, p)
	}
	c := mk()
	require.Zero(t, catalogNTS(c, scoring.AuthOff))
	require.Empty(t, c[0].Auth)
}
