package discovery

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Where a region came from, in Region.From.
const (
	FromConfig    = "config"
	FromTZ        = "TZ"
	FromLocaltime = "/etc/localtime"
	FromTimezone  = "/etc/timezone"
)

// Region is where the machine is, as far as its timezone tells.
type Region struct {
	// TZ is the zone name found ("Asia/Kolkata"), empty if none.
	TZ string `json:"timezone,omitempty"`
	// From is where it was found: TZ, /etc/localtime, /etc/timezone or config.
	From string `json:"from,omitempty"`
	// Country is the ISO 3166 alpha-2 code in lower case ("in"), empty if unknown.
	Country string `json:"country,omitempty"`
	// CountryName is iso3166.tab's name for Country, when the table is there.
	CountryName string `json:"country_name,omitempty"`
	// Continent is the pool continent zone ("asia"), empty if unknown.
	Continent string `json:"continent,omitempty"`
}

// areaContinent maps a tzdata area (the part of a zone name before the
// first '/') to a pool continent zone. America is split further by
// continentExceptions (continents_test.go); Atlantic, Indian and Antarctica
// have no default. Used to build continents.go, and to guess a continent
// from a zone name when the zone tables are missing.
var areaContinent = map[string]string{
	"Europe":    "europe",
	"Asia":      "asia",
	"Africa":    "africa",
	"America":   "north-america", // Central America and the Caribbean too, as the pool does
	"Australia": "oceania",
	"Pacific":   "oceania",
	"Arctic":    "europe", // SJ, Svalbard
}

// noLocationZones say nothing about where a machine is.
var noLocationZones = map[string]bool{
	"UTC": true, "UCT": true, "GMT": true, "GMT0": true, "GMT+0": true, "GMT-0": true,
	"Greenwich": true, "Universal": true, "Zulu": true, "Factory": true,
	"localtime": true, "posixrules": true,
}

// regionForCountry returns the region of an ISO 3166 alpha-2 code (any case).
func regionForCountry(cc string, z *zoneTables) Region {
	up := strings.ToUpper(cc)
	r := Region{Country: strings.ToLower(up), Continent: countryContinent[up]}
	if z != nil {
		r.CountryName = z.countryName[up]
	}
	return r
}

// detectRegion looks at TZ, then the /etc/localtime link (what the C
// library uses when TZ is unset), then /etc/timezone (Debian's copy of the
// name, useful when /etc/localtime is a copied file), under root. The first
// zone that maps to a country wins; a zone that says nothing about the
// location (UTC, Etc/*) lets the next source speak. If none maps to a
// country, the first that gives a continent (from its area) is returned,
// with the reasons as notes.
func detectRegion(root string, getenv func(string) string, z *zoneTables) (Region, []error) {
	sources := []struct {
		from string
		zone func() (string, error)
	}{
		{FromTZ, func() (string, error) { return zoneFromTZ(root, getenv("TZ")) }},
		{FromLocaltime, func() (string, error) { return zoneFromLocaltime(root) }},
		{FromTimezone, func() (string, error) { return zoneFromTimezoneFile(root) }},
	}
	var notes []error
	var fallback *Region
	for _, s := range sources {
		zone, err := s.zone()
		if err != nil {
			notes = append(notes, fmt.Errorf("%s: %w", s.from, err))
		}
		if zone == "" {
			continue
		}
		r, err := regionForZone(zone, z)
		r.From = s.from
		if err != nil {
			notes = append(notes, fmt.Errorf("%s: %w", s.from, err))
		}
		if r.Country != "" {
			return r, nil
		}
		if r.TZ == "" {
			continue // not a zone name
		}
		if fallback == nil || (fallback.Continent == "" && r.Continent != "") {
			fallback = &r
		}
	}
	if fallback == nil {
		return Region{}, append(notes, errors.New("no timezone found in TZ, /etc/localtime or /etc/timezone"))
	}
	return *fallback, notes
}

// regionForZone maps a zone name to a region through the zone tables, or
// guesses only the continent from the zone's area when the tables do not
// know it.
func regionForZone(zone string, z *zoneTables) (Region, error) {
	if !validZoneName(zone) {
		return Region{}, fmt.Errorf("%q is not a timezone name", zone)
	}
	cc, found := z.country(zone)
	if cc != "" {
		r := regionForCountry(cc, z)
		r.TZ = zone
		return r, nil
	}
	r := Region{TZ: zone}
	if noLocationZones[found] || strings.HasPrefix(found, "Etc/") || noLocationZones[zone] {
		return r, fmt.Errorf("timezone %s says nothing about where this machine is", zone)
	}
	area, _, _ := strings.Cut(found, "/")
	if area != "America" { // north or south: the name alone cannot tell
		r.Continent = areaContinent[area]
	}
	if r.Continent != "" {
		return r, fmt.Errorf("timezone %s is not in the zone tables under %s; continent %s guessed from its name", zone, z.dir, r.Continent)
	}
	return r, fmt.Errorf("timezone %s is not in the zone tables under %s", zone, z.dir)
}

// zoneFromTZ returns the zone named by a TZ value: "Area/City",
// ":Area/City", or a path to a zoneinfo file ("/usr/share/zoneinfo/X" or a
// link to one). POSIX rule strings ("CET-1CEST,M3.5.0,M10.5.0/3") name no
// zone and give "".
func zoneFromTZ(root, tz string) (string, error) {
	tz = strings.TrimPrefix(tz, ":")
	switch {
	case tz == "":
		return "", nil
	case strings.HasPrefix(tz, "/"):
		return zoneFromFile(root, tz)
	case strings.ContainsAny(tz, ",<>") || !validZoneName(tz):
		return "", fmt.Errorf("TZ=%q is a POSIX rule, not a zone name: it says nothing about the location", tz)
	}
	return tz, nil
}

// zoneFromLocaltime reads the /etc/localtime link.
func zoneFromLocaltime(root string) (string, error) {
	zone, err := zoneFromFile(root, "/etc/localtime")
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil // no /etc/localtime: UTC, says nothing
	}
	return zone, err
}

// zoneFromFile follows the link at p (a path on the host, looked up under
// root) until its target is in a zoneinfo directory.
func zoneFromFile(root, p string) (string, error) {
	for range maxLinkHops {
		if zone := zoneFromPath(p); zone != "" {
			return zone, nil
		}
		target, err := os.Readlink(filepath.Join(root, p))
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%s is not a link to a zoneinfo file, so its zone name is unknown", p)
			}
			return "", err
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = target
	}
	return "", fmt.Errorf("%s: more than %d links", p, maxLinkHops)
}

// zoneFromTimezoneFile reads the first name in /etc/timezone (Debian).
func zoneFromTimezoneFile(root string) (string, error) {
	f, err := os.Open(filepath.Join(root, "/etc/timezone"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && line[0] != '#' {
			return line, nil
		}
	}
	return "", sc.Err()
}
