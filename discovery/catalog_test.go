package discovery

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

func TestEmbeddedCatalog(t *testing.T) {
	c, err := loadEmbedded()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(c.Servers), 20)
	seen := map[string]bool{}
	operators := map[string]bool{}
	for _, s := range c.Servers {
		require.NoError(t, srvname.Validate(s.Name))
		require.NotEmpty(t, s.Operator, s.Name)
		require.NotEmpty(t, s.Source, s.Name)
		require.False(t, seen[s.Name], "duplicate %s", s.Name)
		seen[s.Name] = true
		operators[s.Operator] = true
		_, pool := c.Pool.describe(s.Name)
		require.False(t, pool, "%s: pool names belong in [pool]", s.Name)
	}
	// At least four independent non-smearing operators, so a diverse set of
	// four (RFC 8633) exists without the pool.
	nonSmearing := map[string]bool{}
	for _, s := range c.Servers {
		if !s.Smearing {
			nonSmearing[s.Operator] = true
		}
	}
	require.GreaterOrEqual(t, len(nonSmearing), 4)
	// Every pool continent has at least one catalog server or anycast.
	require.Equal(t, []string{"africa", "asia", "europe", "north-america", "oceania", "south-america"}, c.Pool.Continents)
}

// TestCatalogFacts pins the facts decisions depend on: who smears (never
// mix them, RFC 8633), NIST's 4 s spacing, NTS where documented.
func TestCatalogFacts(t *testing.T) {
	tests := []struct {
		name       string
		operator   string
		smearing   bool
		nts        bool
		minSpacing time.Duration
	}{
		{"time.google.com", "Google", true, false, 0},
		{"time.facebook.com", "Meta", true, false, 0},
		{"time.aws.com", "Amazon", true, false, 0},
		{"time.cloudflare.com", "Cloudflare", false, true, 0},
		{"nts.netnod.se", "Netnod", false, true, 0},
		{"ptbtime1.ptb.de", "PTB", false, false, 0},
		{"time.nist.gov", "NIST", false, false, 4 * time.Second},
		{"time-a-g.nist.gov", "NIST", false, false, 4 * time.Second},
		{"0.de.pool.ntp.org", "NTP Pool Project", false, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Describe(tc.name)
			require.Equal(t, tc.operator, c.Operator)
			require.Equal(t, tc.smearing, c.Smearing)
			require.Equal(t, tc.nts, c.NTS)
			require.Equal(t, tc.minSpacing, c.MinSpacing)
		})
	}
	require.Equal(t, Candidate{Name: "ntp.example.org", Port: 123}, Describe("NTP.Example.org."))
}

func TestParseCatalogErrors(t *testing.T) {
	const server = "[[server]]\nname = \"a.example\"\noperator = \"A\"\nanycast = true\nsource = \"s\"\n"
	tests := []struct {
		name     string
		text     string
		withPool bool
		errHas   string
	}{
		{"ok remote", server, false, ""},
		{"syntax", "[[server]\n", false, "bad server catalog"},
		{"unknown key", server + "colour = \"red\"\n", false, "unknown key \"server.colour\""},
		{"pool in a remote list", server + "[pool]\ndomain = \"pool.ntp.org\"\n", false, "not allowed here"},
		{"pool missing", server, true, "required"},
		{"empty remote", "# nothing\n", false, "no [[server]] entries"},
		{"duplicate", server + server, false, "listed twice"},
		{"bad name", strings.Replace(server, "a.example", "a.example\\nrestrict default", 1), false, "control character"},
		{"upper case", strings.Replace(server, "a.example", "A.example", 1), false, "must be written"},
		{"no operator", strings.Replace(server, "operator = \"A\"\n", "", 1), false, "no operator"},
		{"no source", strings.Replace(server, "source = \"s\"\n", "", 1), false, "no source"},
		{"anycast and country", server + "country = \"de\"\n", false, "exactly one"},
		{"neither", strings.Replace(server, "anycast = true\n", "", 1), false, "exactly one"},
		{"bad country", strings.Replace(server, "anycast = true", "country = \"xx\"", 1), false, "ISO 3166"},
		{"bad spacing", server + "min_spacing = \"1h\"\n", false, "min_spacing"},
		{"spacing syntax", server + "min_spacing = \"soon\"\n", false, "bad server catalog"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCatalog(tc.text, "test.toml", tc.withPool)
			if tc.errHas == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrCatalog)
			require.ErrorContains(t, err, tc.errHas)
		})
	}
}

func TestPoolNames(t *testing.T) {
	p := mustCatalog(t).Pool
	tests := []struct {
		zone string
		n    int
		want []string
	}{
		{"de", 4, []string{"2.de.pool.ntp.org", "0.de.pool.ntp.org", "1.de.pool.ntp.org", "3.de.pool.ntp.org"}},
		{"asia", 2, []string{"2.asia.pool.ntp.org", "0.asia.pool.ntp.org"}},
		{"", 1, []string{"2.pool.ntp.org"}},
		{"", 0, nil},
	}
	for _, tc := range tests {
		got := p.names(tc.zone, tc.n)
		require.Equal(t, tc.want, names(got), tc.zone)
		for _, c := range got {
			require.True(t, c.Pool)
			require.Equal(t, tc.zone, c.Zone)
			require.Equal(t, strings.HasPrefix(c.Name, "2."), c.IPv6, c.Name)
			require.NoError(t, srvname.Validate(c.Name))
		}
	}
	require.Equal(t, "uk", poolZoneLabel("gb"))
	require.Equal(t, "de", poolZoneLabel("de"))
}

func TestPoolDescribe(t *testing.T) {
	p := mustCatalog(t).Pool
	tests := []struct {
		name string
		pool bool
		zone string
		ipv6 bool
	}{
		{"0.de.pool.ntp.org", true, "de", false},
		{"2.europe.pool.ntp.org", true, "europe", true},
		{"2.debian.pool.ntp.org", true, "", true},
		{"1.uk.pool.ntp.org", true, "uk", false},
		{"pool.ntp.org", true, "", false},
		{"3.pool.ntp.org", true, "", false},
		{"evilpool.ntp.org", false, "", false},
		{"pool.ntp.org.example", false, "", false},
		{"time.google.com", false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := p.describe(tc.name)
			require.Equal(t, tc.pool, ok)
			require.Equal(t, tc.zone, c.Zone)
			require.Equal(t, tc.ipv6, c.IPv6)
		})
	}
}

func mustCatalog(t *testing.T) *catalog {
	t.Helper()
	c, err := loadEmbedded()
	require.NoError(t, err)
	return c
}
