package discovery

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Discoverer finds candidates. Its fields are the outside world, injected so
// tests can replace them; the zero value uses the real machine.
type Discoverer struct {
	// Root is prefixed to /etc/localtime, /etc/timezone and
	// /usr/share/zoneinfo; empty means "/".
	Root string
	// Getenv reads TZ; nil means os.Getenv.
	Getenv func(string) string
	// Client downloads the remote list; nil means a default client. Its
	// redirect policy is replaced by one that allows https only.
	Client *http.Client
	// Clock stamps the cache; nil is the system clock.
	Clock clock.Clock
	// Log receives what discovery finds and every warning.
	Log zerolog.Logger
	// CacheDir keeps the remote list's last good copy; empty: no cache.
	CacheDir string
}

// Result is what Discover found.
type Result struct {
	// Candidates in priority order, at most Config.MaxCandidates.
	Candidates []Candidate `json:"candidates"`
	// Dropped are the candidates the cap left out, in order.
	Dropped []Candidate `json:"dropped,omitempty"`
	// Region is the machine's region (empty with NoDiscovery, or when
	// unknown).
	Region Region `json:"region"`
	// Warnings are problems the operator should look at: a remote list
	// that failed (ErrRemoteList), a bad name from chronyd, unreadable zone
	// tables, no pool zone left by the configuration. Discover has logged
	// them at warn level; WarningText gives them as strings.
	Warnings []error `json:"-"`
	// Notes explain ordinary outcomes, logged at info level: why no region
	// was found (e.g. the machine runs on UTC), what the cap left out.
	Notes []string `json:"notes,omitempty"`
}

// WarningText returns the warnings as strings, for JSON output.
func (r Result) WarningText() []string {
	out := make([]string, len(r.Warnings))
	for i, w := range r.Warnings {
		out[i] = w.Error()
	}
	return out
}

// Discover returns the candidates for one run. current are the sources
// chronyd has now (addresses as chronyd reports them). It fails only on
// operator errors: an invalid Config, or a servers file that cannot be read
// or holds a bad entry (the error names file and line). Everything else
// goes on with what there is: a remote list that fails or a bad name from
// chronyd becomes a warning; no region (a UTC machine) or a cap that left
// candidates out becomes a note.
func (d *Discoverer) Discover(ctx context.Context, cfg Config, current []Source) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	cat, err := loadEmbedded()
	if err != nil {
		return Result{}, err
	}
	var res Result
	keep := entries(cfg.Keep, OriginKeep, true)
	user := entries(cfg.Servers, OriginServers, false)
	for _, path := range cfg.ServersFiles {
		fromFile, err := readServersFile(path)
		if err != nil {
			return Result{}, err
		}
		user = append(user, fromFile...)
	}
	chronyd, warnings := chronydSources(current)
	res.Warnings = append(res.Warnings, warnings...)
	groups := [][]Candidate{keep, user, chronyd}
	if !cfg.NoDiscovery {
		region, warnings, notes := d.region(cfg)
		res.Region = region
		res.Warnings = append(res.Warnings, warnings...)
		res.Notes = append(res.Notes, notes...)
		regional, global, warnings := poolCandidates(*cat.Pool, cfg, region)
		res.Warnings = append(res.Warnings, warnings...)
		catalogServers, warnings := d.catalogServers(ctx, cat, cfg, region)
		res.Warnings = append(res.Warnings, warnings...)
		if cfg.PreferRegional {
			groups = append(groups, regional, catalogServers, global)
		} else {
			groups = append(groups, catalogServers, regional, global)
		}
	}
	for _, g := range groups {
		for i := range g {
			enrich(&g[i])
		}
	}
	res.Candidates, res.Dropped = capCandidates(dedupe(groups...), cfg.MaxCandidates)
	if len(res.Dropped) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("max_servers_to_test=%d left out %d candidates, from %s on",
			cfg.MaxCandidates, len(res.Dropped), res.Dropped[0].Name))
	}
	d.log(res)
	return res, nil
}

// region returns the configured or detected region.
func (d *Discoverer) region(cfg Config) (r Region, warnings []error, notes []string) {
	root := d.Root
	if root == "" {
		root = "/"
	}
	z, err := loadZoneTables(filepath.Join(root, zoneinfoDir))
	if err != nil {
		warnings = append(warnings, fmt.Errorf("reading the zone tables: %w", err))
	}
	switch {
	case cfg.Country != "":
		r = regionForCountry(cfg.Country, z)
		r.From = FromConfig
		return r, warnings, nil
	case !cfg.AutoDetect:
		return Region{}, warnings, []string{"geographic.auto_detect is off and no country is set: no regional pool zones"}
	}
	getenv := d.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	r, why := detectRegion(root, getenv, z)
	for _, n := range why {
		notes = append(notes, n.Error())
	}
	return r, warnings, notes
}

// catalogServers returns the remote list's servers (or, when it fails with
// no cached copy, the embedded catalog's), in the order they are offered.
func (d *Discoverer) catalogServers(ctx context.Context, cat *catalog, cfg Config, r Region) ([]Candidate, []error) {
	var items []catalogItem
	var warnings []error
	if cfg.RemoteListURL != "" {
		var remote []Candidate
		var ok bool
		remote, ok, warnings = d.remoteServers(ctx, cfg)
		if ok {
			for _, c := range remote {
				s := catalogIndex()[c.Name]
				items = append(items, catalogItem{Candidate: c, country: s.Country, anycast: s.Anycast})
			}
			return orderCatalog(items, r, cfg.PreferRegional, cfg.FallbackToGlobal), warnings
		}
	}
	for _, s := range cat.Servers {
		items = append(items, catalogItem{Candidate: s.candidate(OriginCatalog), country: s.Country, anycast: s.Anycast})
	}
	return orderCatalog(items, r, cfg.PreferRegional, cfg.FallbackToGlobal), warnings
}

func (d *Discoverer) now() time.Time { return clock.Or(d.Clock).Now() }

// log records the region, the warnings and the candidates.
func (d *Discoverer) log(res Result) {
	r := res.Region
	if r.TZ != "" || r.Country != "" || r.Continent != "" {
		d.Log.Info().Str("timezone", r.TZ).Str("from", r.From).Str("country", r.Country).
			Str("country_name", r.CountryName).Str("continent", r.Continent).Msg("region")
	}
	for _, w := range res.Warnings {
		d.Log.Warn().Err(w).Msg("discovery")
	}
	for _, n := range res.Notes {
		d.Log.Info().Str("note", n).Msg("discovery")
	}
	for _, c := range res.Candidates {
		d.Log.Debug().Str("server", c.Name).Int("port", c.Port).Str("origin", c.Origin).
			Str("operator", c.Operator).Bool("pinned", c.Pinned).Msg("candidate")
	}
	d.Log.Info().Int("candidates", len(res.Candidates)).Int("dropped", len(res.Dropped)).
		Str("first", firstNames(res.Candidates, 4)).Msg("candidates discovered")
}

func firstNames(c []Candidate, n int) string {
	names := make([]string, 0, n)
	for i := 0; i < len(c) && i < n; i++ {
		names = append(names, c[i].Name)
	}
	return strings.Join(names, ",")
}
