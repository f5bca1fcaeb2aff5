package discovery

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
	"github.com/ntp-optimizer/ntp-optimizer/internal/tomlfile"
)

//go:embed catalog.toml
var embeddedCatalog string

// ErrCatalog is wrapped by every error about a catalog (embedded or remote).
var ErrCatalog = errors.New("bad server catalog")

// maxMinSpacing bounds a catalog's min_spacing: RFC 4330's steady polling
// floor is 15 s, and no operator asks for more than that between samples.
const maxMinSpacing = 15 * time.Second

// catalog is the parsed catalog.toml (or a remote list in that format,
// which has servers only).
type catalog struct {
	Pool    *poolZones      `toml:"pool"` // nil: no [pool] section
	Servers []catalogServer `toml:"server"`
}

// poolZones describes the NTP pool's naming: N.[zone.]domain.
type poolZones struct {
	Domain     string   `toml:"domain"`
	Operator   string   `toml:"operator"`
	Numbers    []int    `toml:"numbers"`
	IPv6Number int      `toml:"ipv6_number"`
	Continents []string `toml:"continents"`
	Source     string   `toml:"source"`
	Comment    string   `toml:"comment"`
}

// catalogServer is one [[server]] entry; see catalog.toml's header.
type catalogServer struct {
	Name       string            `toml:"name"`
	Operator   string            `toml:"operator"`
	Country    string            `toml:"country"`
	Anycast    bool              `toml:"anycast"`
	Smearing   bool              `toml:"smearing"`
	NTS        bool              `toml:"nts"`
	IPv6       bool              `toml:"ipv6"`
	MinSpacing tomlfile.Duration `toml:"min_spacing"`
	Source     string            `toml:"source"`
	Comment    string            `toml:"comment"`
}

// candidate returns the entry as a Candidate with the given origin.
func (s catalogServer) candidate(origin string) Candidate {
	return Candidate{Name: s.Name, Port: DefaultPort, Origin: origin, Operator: s.Operator,
		Smearing: s.Smearing, NTS: s.NTS, IPv6: s.IPv6, MinSpacing: s.MinSpacing.D()}
}

// parseCatalog decodes and checks a catalog. withPool says whether a [pool]
// section is required (the embedded catalog) or forbidden (a remote list).
func parseCatalog(text, source string, withPool bool) (*catalog, error) {
	var c catalog
	if err := tomlfile.Decode([]byte(text), &c); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrCatalog, source, err)
	}
	if withPool != (c.Pool != nil) {
		return nil, fmt.Errorf("%w %s: a [pool] section is %s", ErrCatalog, source,
			map[bool]string{true: "required", false: "not allowed here"}[withPool])
	}
	if withPool {
		if err := c.Pool.check(); err != nil {
			return nil, fmt.Errorf("%w %s: [pool]: %w", ErrCatalog, source, err)
		}
	}
	if len(c.Servers) == 0 && !withPool {
		return nil, fmt.Errorf("%w %s: no [[server]] entries", ErrCatalog, source)
	}
	seen := map[string]bool{}
	for i, s := range c.Servers {
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("%w %s: server %d (%q): %w", ErrCatalog, source, i+1, s.Name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%w %s: server %q is listed twice", ErrCatalog, source, s.Name)
		}
		seen[s.Name] = true
	}
	return &c, nil
}

func (s catalogServer) check() error {
	if err := srvname.Validate(s.Name); err != nil {
		return err
	}
	switch {
	case s.Name != normalizeName(s.Name):
		return fmt.Errorf("name must be written %q", normalizeName(s.Name))
	case strings.TrimSpace(s.Operator) == "":
		return errors.New("no operator")
	case strings.TrimSpace(s.Source) == "":
		return errors.New("no source for its facts")
	case s.Anycast == (s.Country != ""):
		return errors.New("exactly one of anycast = true or country must be set")
	case s.MinSpacing.D() < 0 || s.MinSpacing.D() > maxMinSpacing:
		return fmt.Errorf("min_spacing %v is outside 0 to %v", s.MinSpacing.D(), maxMinSpacing)
	}
	if s.Country != "" {
		if _, ok := countryContinent[strings.ToUpper(s.Country)]; !ok || s.Country != strings.ToLower(s.Country) {
			return fmt.Errorf("country %q is not a lower-case ISO 3166 alpha-2 code", s.Country)
		}
	}
	return nil
}

func (p poolZones) check() error {
	if err := srvname.Validate(p.Domain); err != nil {
		return err
	}
	if p.Operator == "" || p.Source == "" {
		return errors.New("operator and source are required")
	}
	if len(p.Numbers) == 0 {
		return errors.New("no numbers")
	}
	seen := map[int]bool{}
	for _, n := range p.Numbers {
		if n < 0 || n > 9 || seen[n] {
			return fmt.Errorf("numbers %v: each must be a distinct digit", p.Numbers)
		}
		seen[n] = true
	}
	if !seen[p.IPv6Number] {
		return fmt.Errorf("ipv6_number %d is not one of numbers", p.IPv6Number)
	}
	known := map[string]bool{}
	for _, c := range p.Continents {
		known[c] = true
	}
	for cc, cont := range countryContinent {
		if cont != "" && !known[cont] {
			return fmt.Errorf("continent %q (of %s) is not in continents", cont, cc)
		}
	}
	return nil
}

// loadEmbedded parses catalog.toml once; TestEmbeddedCatalog keeps it valid.
var loadEmbedded = sync.OnceValues(func() (*catalog, error) {
	return parseCatalog(embeddedCatalog, "catalog.toml (embedded)", true)
})
