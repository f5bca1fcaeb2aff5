package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

// newDiscoverer returns a Discoverer on a fake root whose /etc/localtime
// links to zone (none if empty).
func newDiscoverer(t *testing.T, zone string) *Discoverer {
	t.Helper()
	r := newFakeRoot(t, true)
	if zone != "" {
		r.symlink("/etc/localtime", "/usr/share/zoneinfo/"+zone)
	}
	return &Discoverer{Root: r.dir, Getenv: env(""), CacheDir: t.TempDir()}
}

func writeList(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "servers.list")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// TestDiscoverGolden pins the whole candidate list for a machine in
// Kolkata with a pinned server, a servers file and two chronyd sources.
// Regenerate with -update after a deliberate change.
func TestDiscoverGolden(t *testing.T) {
	d := newDiscoverer(t, "Asia/Kolkata")
	cfg := DefaultConfig()
	cfg.Keep = []string{"time.cloudflare.com"}
	cfg.ServersFiles = []string{writeList(t, "# office\nntp.office.example\n127.0.0.12:40123\n")}
	res, err := d.Discover(context.Background(), cfg, []Source{{Name: "192.0.2.10"}, {Name: "ntp.office.example"}})
	require.NoError(t, err)
	require.Equal(t, Region{TZ: "Asia/Kolkata", From: FromLocaltime, Country: "in", CountryName: "India", Continent: "asia"}, res.Region)
	require.Len(t, res.Candidates, DefaultMaxCandidates)
	for i := range res.Candidates { // the temp path differs per run
		if o := res.Candidates[i].Origin; len(o) > len(OriginServersFile) && o[:len(OriginServersFile)] == OriginServersFile {
			res.Candidates[i].Origin = OriginServersFile + ":LIST:" + o[len(o)-1:]
		}
	}
	got, err := json.MarshalIndent(res, "", "  ")
	require.NoError(t, err)
	golden := "../testdata/discovery/golden/kolkata.json"
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

func TestDiscoverPriorityAndCap(t *testing.T) {
	d := newDiscoverer(t, "Europe/Berlin")
	cfg := DefaultConfig()
	cfg.MaxCandidates = 12
	cfg.Keep = []string{"ptbtime1.ptb.de"}
	cfg.Servers = []string{"ntp.example.org"}
	cfg.ServersFiles = []string{writeList(t, "127.0.0.5\n")}
	res, err := d.Discover(context.Background(), cfg, []Source{{Name: "192.0.2.1", Port: 123}})
	require.NoError(t, err)
	require.Equal(t, []string{
		"ptbtime1.ptb.de",              // keep
		"ntp.example.org", "127.0.0.5", // user lists: config, then files
		"192.0.2.1",                                                                        // chronyd
		"2.de.pool.ntp.org", "0.de.pool.ntp.org", "1.de.pool.ntp.org", "3.de.pool.ntp.org", // country
		"2.europe.pool.ntp.org", "0.europe.pool.ntp.org", "1.europe.pool.ntp.org", "3.europe.pool.ntp.org", // continent
	}, names(res.Candidates))
	require.True(t, res.Candidates[0].Pinned)
	require.Equal(t, OriginKeep, res.Candidates[0].Origin)
	require.Equal(t, "PTB", res.Candidates[0].Operator)
	// The catalog comes next, German servers first, the global pool last.
	require.Equal(t, "ptbtime4.ptb.de", res.Dropped[0].Name)
	require.Equal(t, "3.pool.ntp.org", res.Dropped[len(res.Dropped)-1].Name)
	require.Contains(t, fmt.Sprint(res.Notes), "max_servers_to_test=12 left out")
	require.Empty(t, res.Warnings)
}

func TestDiscoverSwitches(t *testing.T) {
	tests := []struct {
		name   string
		zone   string
		change func(*Config)
		check  func(t *testing.T, res Result)
	}{
		{"prefer_regional off: catalog before the regional pool", "Europe/Berlin",
			func(c *Config) { c.PreferRegional = false; c.MaxCandidates = 1000 },
			func(t *testing.T, res Result) {
				require.Equal(t, "time.cloudflare.com", res.Candidates[0].Name)
				require.Less(t, index(res, "time.nist.gov"), index(res, "2.de.pool.ntp.org"))
				require.Less(t, index(res, "3.europe.pool.ntp.org"), index(res, "2.pool.ntp.org"))
			}},
		{"fallback_to_global off: no global pool, no far catalog servers", "Europe/Berlin",
			func(c *Config) { c.FallbackToGlobal = false; c.MaxCandidates = 1000 },
			func(t *testing.T, res Result) {
				require.Equal(t, -1, index(res, "2.pool.ntp.org"))
				require.Equal(t, -1, index(res, "time.nist.gov"))
				require.NotEqual(t, -1, index(res, "time.google.com")) // anycast stays
				require.NotEqual(t, -1, index(res, "ntp1.time.nl"))    // same continent stays
			}},
		{"auto_detect off: global only", "Europe/Berlin",
			func(c *Config) { c.AutoDetect = false; c.MaxCandidates = 1000 },
			func(t *testing.T, res Result) {
				require.Equal(t, Region{}, res.Region)
				require.Equal(t, -1, index(res, "2.de.pool.ntp.org"))
				require.NotEqual(t, -1, index(res, "2.pool.ntp.org"))
			}},
		{"country override beats the timezone", "Europe/Berlin",
			func(c *Config) { c.Country = "GB" },
			func(t *testing.T, res Result) {
				require.Equal(t, Region{From: FromConfig, Country: "gb", CountryName: "Britain (UK)", Continent: "europe"}, res.Region)
				require.Equal(t, "2.uk.pool.ntp.org", res.Candidates[0].Name)
				require.Equal(t, "uk", res.Candidates[0].Zone)
			}},
		{"UTC machine: global pool and catalog", "Etc/UTC",
			func(c *Config) {},
			func(t *testing.T, res Result) {
				require.Equal(t, []string{"2.pool.ntp.org", "0.pool.ntp.org", "1.pool.ntp.org", "3.pool.ntp.org",
					"time.cloudflare.com"}, names(res.Candidates[:5]))
				require.Contains(t, fmt.Sprint(res.Notes), "says nothing about where")
				require.Empty(t, res.Warnings, "a UTC machine is normal, not a problem")
			}},
		{"UTC machine without global fallback", "Etc/UTC",
			func(c *Config) { c.FallbackToGlobal = false },
			func(t *testing.T, res Result) {
				require.Equal(t, -1, index(res, "2.pool.ntp.org"))
				require.Contains(t, fmt.Sprint(res.Warnings), "no pool names offered")
			}},
		{"pool names per zone", "Asia/Tokyo",
			func(c *Config) { c.PoolNames = 1 },
			func(t *testing.T, res Result) {
				require.Equal(t, []string{"2.jp.pool.ntp.org", "2.asia.pool.ntp.org", "ntp.nict.jp"}, names(res.Candidates[:3]))
			}},
		{"no pool names", "Asia/Tokyo",
			func(c *Config) { c.PoolNames = 0; c.MaxCandidates = 1000 },
			func(t *testing.T, res Result) {
				for _, c := range res.Candidates {
					require.False(t, c.Pool, c.Name)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(&cfg)
			res, err := newDiscoverer(t, tc.zone).Discover(context.Background(), cfg, nil)
			require.NoError(t, err)
			tc.check(t, res)
		})
	}
}

func index(res Result, name string) int {
	for i, c := range res.Candidates {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func TestDiscoverNoDiscovery(t *testing.T) {
	d := newDiscoverer(t, "Europe/Berlin")
	d.Client = nil
	cfg := DefaultConfig()
	cfg.NoDiscovery = true
	cfg.RemoteListURL = "https://192.0.2.1/never-fetched" // TEST-NET: would fail if it were tried
	cfg.Keep = []string{"127.0.0.9"}
	cfg.Servers = []string{"time.google.com"}
	cfg.ServersFiles = []string{writeList(t, "127.0.0.10\n127.0.0.11:40123\n127.0.0.10\n")}
	res, err := d.Discover(context.Background(), cfg, []Source{{Name: "127.0.0.12"}, {Name: "127.0.0.9"}})
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.9", "time.google.com", "127.0.0.10", "127.0.0.11", "127.0.0.12"}, names(res.Candidates))
	require.Equal(t, Region{}, res.Region)
	require.Empty(t, res.Warnings)
	require.True(t, res.Candidates[0].Pinned)
	require.True(t, res.Candidates[1].Smearing, "metadata comes from the catalog even without discovery")
	require.Equal(t, 40123, res.Candidates[3].Port)
	for _, c := range res.Candidates {
		require.False(t, c.Pool)
	}
}

func TestDiscoverBadServersFile(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		errHas string
	}{
		{"newline injection", "a.example\npool.ntp.org iburst\n", ":2: bad server entry"},
		{"hash in a name", "\n\nntp.example.org#x\n", ":3: invalid server name \"ntp.example.org#x\": '#'"},
		{"control character", "a.ex\x1bample\n", ":1: invalid server name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			path := writeList(t, tc.text)
			cfg.ServersFiles = []string{path}
			res, err := newDiscoverer(t, "").Discover(context.Background(), cfg, nil)
			require.Error(t, err)
			require.Empty(t, res.Candidates, "nothing from a bad list reaches the caller")
			require.Contains(t, err.Error(), path+tc.errHas)
			var le *ListError
			require.ErrorAs(t, err, &le)
		})
	}
	cfg := DefaultConfig()
	cfg.ServersFiles = []string{"/nonexistent/servers.list"}
	_, err := newDiscoverer(t, "").Discover(context.Background(), cfg, nil)
	require.ErrorContains(t, err, "servers file: open /nonexistent/servers.list")
}

func TestDiscoverChronydSources(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NoDiscovery = true
	res, err := newDiscoverer(t, "").Discover(context.Background(), cfg, []Source{
		{Name: "192.0.2.1"}, {Name: "bad name\n"}, {Name: "2.debian.pool.ntp.org"}, {Name: "192.0.2.2", Port: 70000},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"192.0.2.1", "2.debian.pool.ntp.org"}, names(res.Candidates))
	require.True(t, res.Candidates[1].Pool)
	require.True(t, res.Candidates[1].IPv6)
	require.Len(t, res.Warnings, 2)
	require.ErrorIs(t, res.Warnings[0], srvname.ErrInvalid)
}

func TestDiscoverDeterministic(t *testing.T) {
	d := newDiscoverer(t, "America/New_York")
	cfg := DefaultConfig()
	cfg.MaxCandidates = 1000
	first, err := d.Discover(context.Background(), cfg, nil)
	require.NoError(t, err)
	for range 5 {
		again, err := d.Discover(context.Background(), cfg, nil)
		require.NoError(t, err)
		require.Equal(t, first.Candidates, again.Candidates)
	}
	seen := map[string]bool{}
	for _, c := range first.Candidates {
		require.NoError(t, srvname.Validate(c.Name))
		require.False(t, seen[c.Key()], "duplicate %s", c.Name)
		seen[c.Key()] = true
	}
}

func TestDiscoverServersFileSizeCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ServersFiles = []string{writeList(t, strings.Repeat("# padding padding padding\n", maxListBytes/26+1))}
	_, err := newDiscoverer(t, "").Discover(context.Background(), cfg, nil)
	require.ErrorContains(t, err, "larger than 1048576 bytes")
}

func TestWarningText(t *testing.T) {
	res := Result{Warnings: []error{errors.New("a"), fmt.Errorf("b: %w", ErrRemoteList)}}
	require.Equal(t, []string{"a", "b: remote server list"}, res.WarningText())
}
