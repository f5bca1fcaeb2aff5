package discovery

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is the NTP port (RFC 5905 section 7.2) used when a list does
// not name one.
const DefaultPort = 123

// Origins of a candidate, in Candidate.Origin. A file entry's origin is
// OriginServersFile + ":" + path + ":" + line, a remote list entry's is
// OriginRemote + ":" + URL.
const (
	OriginKeep        = "keep"
	OriginServers     = "servers"
	OriginServersFile = "servers-file"
	OriginChronyd     = "chronyd"
	OriginPool        = "pool"
	OriginCatalog     = "catalog"
	OriginRemote      = "remote"
)

// Candidate is one server name to resolve and measure.
//
// Operator, Smearing, NTS, IPv6 and MinSpacing come from the embedded
// catalog when it knows the name, whatever list the name came from; for
// names it does not know they are empty/false ("not known to"). Pool
// members are run by independent volunteers: their Operator names the pool
// project, and Pool tells the selection to diversify them by address rather
// than treat them as one operator.
type Candidate struct {
	// Name is a validated hostname (lower case, no final dot) or IP literal.
	Name string `json:"name"`
	// Port is the NTP port, DefaultPort unless a list named another.
	Port int `json:"port"`
	// Origin says where the candidate came from: keep, servers,
	// servers-file:PATH:LINE, chronyd, pool, catalog or remote:URL. When a
	// name came from several places it is the strongest (the first in
	// the priority order).
	Origin string `json:"origin"`
	// Zone is the pool zone of a pool name: a country code ("de"), a
	// continent ("europe"), or empty for the global zone and non-pool names.
	Zone string `json:"zone,omitempty"`
	// Operator runs the server, when known.
	Operator string `json:"operator,omitempty"`
	// Smearing is true for servers known to smear leap seconds (Google,
	// Meta, Amazon); never mix them with servers that do not (RFC 8633).
	Smearing bool `json:"smearing"`
	// NTS is true for servers known to offer Network Time Security (RFC 8915):
	// the catalog says so, or a list names the server with `nts`.
	NTS bool `json:"nts"`
	// Auth is AuthNTS for a server to use with NTS: a list named it
	// "NAME nts". The catalog's NTS alone does not set it (a server is
	// added with `nts` only when asked to). Empty: plain NTP.
	Auth string `json:"auth,omitempty"`
	// IPv6 is true for names known to resolve to IPv6 addresses too; of the
	// pool's names only the "2." ones do.
	IPv6 bool `json:"ipv6"`
	// MinSpacing is the least time between two queries to one address that
	// the operator asks for (NIST: 4 s); zero means the prober's default.
	MinSpacing time.Duration `json:"min_spacing_ns,omitempty"`
	// Pinned is true for keep entries: never removed, always measured.
	Pinned bool `json:"pinned"`
	// Pool is true for NTP pool names (any N.zone.pool.ntp.org name,
	// including vendor zones such as 2.debian.pool.ntp.org).
	Pool bool `json:"pool"`
}

// Key identifies a candidate for deduplication: the normalised name and
// the port.
func (c Candidate) Key() string {
	return key(c.Name, c.Port)
}

func key(name string, port int) string {
	return normalizeName(name) + "|" + strconv.Itoa(port)
}

// Source is a server chronyd already has, as the agent passes it to
// Discover: an address (or name) and a port (0 means DefaultPort).
type Source struct {
	Name string
	Port int
}

// normalizeName returns the canonical spelling of a validated name: IP
// literals in their netip form, hostnames in lower case without a final dot.
func normalizeName(name string) string {
	if addr, err := netip.ParseAddr(name); err == nil {
		return addr.String()
	}
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// listed returns c as a list gave it: with nts, a server to use with NTS.
func listed(c Candidate, nts bool) Candidate {
	if nts {
		c.NTS, c.Auth = true, AuthNTS
	}
	return c
}

// merge folds a lower-priority duplicate into c: flags and metadata known
// to either are kept, the origin stays c's.
func (c *Candidate) merge(o Candidate) {
	c.Pinned = c.Pinned || o.Pinned
	c.Pool = c.Pool || o.Pool
	c.Smearing = c.Smearing || o.Smearing
	c.NTS = c.NTS || o.NTS
	c.IPv6 = c.IPv6 || o.IPv6
	if c.Auth == "" {
		c.Auth = o.Auth
	}
	if c.Operator == "" {
		c.Operator = o.Operator
	}
	if c.Zone == "" {
		c.Zone = o.Zone
	}
	if o.MinSpacing > c.MinSpacing {
		c.MinSpacing = o.MinSpacing
	}
}
