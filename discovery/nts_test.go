package discovery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseServersNTS(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []listedServer
		errLine int
		errHas  string
	}{
		{name: "nts and plain",
			text: "time.cloudflare.com nts\nntp1.example.org\n\tnts.netnod.se:4123\tNTS  # office\n",
			want: []listedServer{
				{listEntry{"time.cloudflare.com", 123, 1}, true},
				{listEntry{"ntp1.example.org", 123, 2}, false},
				{listEntry{"nts.netnod.se", 4123, 3}, true},
			}},
		{name: "nts comment only", text: "a.example #nts\n", want: []listedServer{{listEntry{"a.example", 123, 1}, false}}},
		{name: "a name called nts", text: "nts\n", want: []listedServer{{listEntry{"nts", 123, 1}, false}}},
		{name: "another word", text: "a.example\nb.example iburst\n", errLine: 2, errHas: `unexpected "iburst"`},
		{name: "a word before nts", text: "a.example iburst nts\n", errLine: 1, errHas: `unexpected "iburst"`},
		{name: "nts twice", text: "\na.example nts nts\n", errLine: 2, errHas: `unexpected "nts"`},
		{name: "nts then a word", text: "a.example nts iburst\n", errLine: 1, errHas: `unexpected "nts iburst"`},
		{name: "nts without a server", text: " nts\nb.example\n", want: []listedServer{{listEntry{"nts", 123, 1}, false}, {listEntry{"b.example", 123, 2}, false}}},
		{name: "bad name with nts", text: "a..example nts\n", errLine: 1, errHas: "a..example"},
		{name: "multicast with nts", text: "224.0.1.1 nts\n", errLine: 1, errHas: "multicast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServers(strings.NewReader(tc.text), "list.txt")
			if tc.errHas != "" {
				var le *ListError
				require.ErrorAs(t, err, &le)
				require.Equal(t, tc.errLine, le.Line)
				require.ErrorContains(t, err, tc.errHas)
				require.True(t, strings.HasPrefix(err.Error(), "list.txt:"), err.Error())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCheckServerNTS(t *testing.T) {
	for _, ok := range []string{"time.cloudflare.com nts", "a.example", "[2001:db8::1]:123 nts", "a.example\tnts"} {
		require.NoError(t, CheckServer(ok), ok)
	}
	for _, bad := range []string{"a.example iburst", "a.example nts nts", "a.example\nnts", "nts.example key 1", " nts", "0.0.0.0 nts"} {
		require.Error(t, CheckServer(bad), bad)
	}
}

func TestListedNTSCandidates(t *testing.T) {
	// The config's servers and keep.
	got := entries([]string{"time.cloudflare.com nts", "ntp1.example.org"}, OriginServers, false)
	require.Len(t, got, 2)
	require.Equal(t, AuthNTS, got[0].Auth)
	require.True(t, got[0].NTS)
	require.Empty(t, got[1].Auth)

	// A servers file.
	path := filepath.Join(t.TempDir(), "servers")
	require.NoError(t, os.WriteFile(path, []byte("ntp1.example.org\nnts.example.org nts\n"), 0o600))
	fromFile, err := readServersFile(path)
	require.NoError(t, err)
	require.Equal(t, []Candidate{
		{Name: "ntp1.example.org", Port: 123, Origin: OriginServersFile + ":" + path + ":1"},
		{Name: "nts.example.org", Port: 123, Origin: OriginServersFile + ":" + path + ":2", NTS: true, Auth: AuthNTS},
	}, fromFile)

	// A bad trailing word names the file and line.
	require.NoError(t, os.WriteFile(path, []byte("ntp1.example.org\nnts.example.org nts prefer\n"), 0o600))
	_, err = readServersFile(path)
	require.ErrorContains(t, err, path+":2:")

	// The config's Validate takes `nts` too.
	cfg := DefaultConfig()
	cfg.Servers, cfg.Keep = []string{"time.cloudflare.com nts"}, []string{"nts.netnod.se nts"}
	require.NoError(t, cfg.Validate())
	cfg.Keep = []string{"nts.netnod.se iburst"}
	require.Error(t, cfg.Validate())
}

func TestCatalogNTSIsNotAuth(t *testing.T) {
	// The catalog knows the server offers NTS; only a list asks for it.
	d := Describe("time.cloudflare.com")
	require.True(t, d.NTS)
	require.Empty(t, d.Auth)

	c := Candidate{Name: "time.cloudflare.com", Port: 123, Origin: OriginServers}
	c.merge(listed(Candidate{Name: "time.cloudflare.com", Port: 123}, true))
	require.Equal(t, AuthNTS, c.Auth)
	require.Equal(t, OriginServers, c.Origin)
}

// TestDiscoverCarriesNTS: the whole discovery keeps a listed server's nts
// through deduplication, from any list, and the catalog's flag stays
// "offers NTS" only.
func TestDiscoverCarriesNTS(t *testing.T) {
	d := newDiscoverer(t, "Europe/Berlin")
	d.Client = nil
	cfg := DefaultConfig()
	cfg.NoDiscovery = true
	cfg.Keep = []string{"127.0.0.9 nts"}
	cfg.Servers = []string{"time.cloudflare.com", "nts.netnod.se nts"}
	cfg.ServersFiles = []string{writeList(t, "127.0.0.10 nts  # lab\ntime.cloudflare.com nts\n127.0.0.11\n")}
	res, err := d.Discover(t.Context(), cfg, []Source{{Name: "127.0.0.9"}})
	require.NoError(t, err)
	auth := map[string]string{}
	offers := map[string]bool{}
	for _, c := range res.Candidates {
		auth[c.Name], offers[c.Name] = c.Auth, c.NTS
	}
	require.Equal(t, map[string]string{"127.0.0.9": "nts", "time.cloudflare.com": "nts", "nts.netnod.se": "nts",
		"127.0.0.10": "nts", "127.0.0.11": ""}, auth, "time.cloudflare.com: the servers file's nts joins the servers entry")
	require.Equal(t, map[string]bool{"127.0.0.9": true, "time.cloudflare.com": true, "nts.netnod.se": true,
		"127.0.0.10": true, "127.0.0.11": false}, offers)
}
