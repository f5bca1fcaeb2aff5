package discovery

import "sync"

// catalogIndex maps the embedded catalog's names to their entries.
var catalogIndex = sync.OnceValue(func() map[string]catalogServer {
	idx := map[string]catalogServer{}
	if c, err := loadEmbedded(); err == nil {
		for _, s := range c.Servers {
			idx[s.Name] = s
		}
	}
	return idx
})

// Describe returns what ntp-optimizer knows about a server name from the
// embedded catalog and the pool's naming rules: operator, leap smearing,
// NTS, IPv6, minimum query spacing and whether it is a pool name. The
// result has the normalised name and DefaultPort and no origin; for a name
// it knows nothing about only those are set. The name should have passed
// srvname.Validate. Use it for names that do not come through Discover,
// such as `probe SERVER`, so NIST's 4 s spacing is kept there too.
func Describe(name string) Candidate {
	c := Candidate{Name: normalizeName(name), Port: DefaultPort}
	enrich(&c)
	return c
}

// enrich adds what the catalog and the pool rules know about c's name.
func enrich(c *Candidate) {
	if s, ok := catalogIndex()[c.Name]; ok {
		c.merge(s.candidate(""))
	}
	if cat, err := loadEmbedded(); err == nil {
		if p, ok := cat.Pool.describe(c.Name); ok {
			c.merge(p)
		}
	}
}
