package discovery

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
)

// zoneinfoDir is where tzdata keeps its tables, under Discoverer.Root.
const zoneinfoDir = "/usr/share/zoneinfo"

// maxLinkHops bounds every chain of links followed (tzdata links, symbolic
// links), so a loop cannot hang a run.
const maxLinkHops = 8

// zoneTables is what region detection reads from tzdata: zone.tab (one
// country per zone, including the zones kept for backward compatibility),
// zone1970.tab (zones shared by several countries, most populous first),
// tzdata.zi's "L TARGET LINK" lines (old names such as Asia/Calcutta) and
// iso3166.tab (country names, for the log).
type zoneTables struct {
	dir         string            // zoneinfo directory on this host
	zoneTab     map[string]string // zone → country code
	zone1970    map[string]string // zone → first country code
	links       map[string]string // link name → target zone
	countryName map[string]string // country code → name
}

// loadZoneTables reads the tables in dir. A missing file is not an error
// (minimal systems lack tzdata); the lookups then find less.
func loadZoneTables(dir string) (*zoneTables, error) {
	z := &zoneTables{dir: dir, zoneTab: map[string]string{}, zone1970: map[string]string{},
		links: map[string]string{}, countryName: map[string]string{}}
	var errs []error
	read := func(name string, line func(fields []string)) {
		f, err := os.Open(path.Join(dir, name))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			text := sc.Text()
			if text == "" || text[0] == '#' {
				continue
			}
			line(strings.Fields(text))
		}
		if err := sc.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	read("zone.tab", func(f []string) {
		if len(f) >= 3 {
			z.zoneTab[f[2]] = f[0]
		}
	})
	read("zone1970.tab", func(f []string) {
		if len(f) >= 3 {
			cc, _, _ := strings.Cut(f[0], ",")
			z.zone1970[f[2]] = cc
		}
	})
	read("tzdata.zi", func(f []string) {
		if len(f) == 3 && f[0] == "L" {
			z.links[f[2]] = f[1]
		}
	})
	read("iso3166.tab", func(f []string) {
		if len(f) >= 2 {
			z.countryName[f[0]] = strings.Join(f[1:], " ")
		}
	})
	return z, errors.Join(errs...)
}

// country returns the country code of zone (upper case, as tzdata spells
// it) and the zone name it was found under, following tzdata's links and
// then the zoneinfo directory's symbolic links (Asia/Calcutta -> Kolkata).
// zone.tab wins over zone1970.tab: it keeps per-country zones such as
// Europe/Amsterdam (NL) that zone1970.tab folds into another country's.
func (z *zoneTables) country(zone string) (cc, found string) {
	for range maxLinkHops {
		if cc := z.zoneTab[zone]; cc != "" {
			return cc, zone
		}
		if cc := z.zone1970[zone]; cc != "" {
			return cc, zone
		}
		next := z.links[zone]
		if next == "" {
			next = z.symlinkTarget(zone)
		}
		if next == "" || !validZoneName(next) {
			return "", zone
		}
		zone = next
	}
	return "", zone
}

// symlinkTarget returns the zone a zoneinfo file links to, or "".
func (z *zoneTables) symlinkTarget(zone string) string {
	target, err := os.Readlink(path.Join(z.dir, zone))
	if err != nil {
		return ""
	}
	if path.IsAbs(target) {
		return zoneFromPath(target)
	}
	return path.Clean(path.Join(path.Dir(zone), target))
}

// zoneFromPath returns the zone name in a path under a zoneinfo directory
// ("/usr/share/zoneinfo/posix/Europe/Berlin" → "Europe/Berlin"), or "".
func zoneFromPath(p string) string {
	i := strings.LastIndex(p, "zoneinfo/")
	if i < 0 {
		return ""
	}
	zone := p[i+len("zoneinfo/"):]
	for _, prefix := range []string{"posix/", "right/"} {
		zone = strings.TrimPrefix(zone, prefix)
	}
	return zone
}

// validZoneName accepts what tzdata uses in zone names (letters, digits,
// '_', '-', '+', '/') and rejects anything that could walk out of the
// zoneinfo directory.
func validZoneName(name string) bool {
	if name == "" || len(name) > 255 || name[0] == '/' {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '_', r == '-', r == '+', r == '/', r == '.':
		default:
			return false
		}
	}
	return true
}
