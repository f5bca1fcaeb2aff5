package scoring

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Prefix lengths within which two addresses count as one network: a /24
// is the smallest IPv4 block routed on the internet, a /48 the usual IPv6
// site assignment (RFC 6177).
const (
	prefixBitsV4 = 24
	prefixBitsV6 = 48
)

// poolDomain is the NTP pool: its names hand out addresses of unrelated
// volunteers, so the name says nothing about who runs an address.
const poolDomain = "pool.ntp.org"

// Diversity levels, in the order rules are relaxed when too few servers
// satisfy them: first the prefix rule, then the refid rule, then the
// operator rule (RFC 8633: sources should be independent in operator,
// network and reference clock; losing the network is the least harm).
type level int

const (
	levelStrict     level = iota // one per operator, refid and prefix
	levelNoPrefix                // the prefix rule relaxed
	levelNoRefID                 // the refid rule relaxed too
	levelNoOperator              // no diversity rule left
)

var relaxedRule = [...]string{levelNoPrefix: "prefix", levelNoRefID: "refid", levelNoOperator: "operator"}

// netPrefix is addr's /24 or /48.
func netPrefix(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	bits := prefixBitsV6
	if addr.Is4() {
		bits = prefixBitsV4
	}
	p, _ := addr.Prefix(bits) // cannot fail for a valid address and these lengths
	return p
}

// operatorKey says who runs m's address: the catalog operator, else the
// registered domain of its name (eTLD+1 per the public suffix list), else
// — for IP literals, pool names and names without a registered domain —
// the address's network prefix.
func operatorKey(m *Measurement) string {
	if op := strings.TrimSpace(m.Operator); op != "" {
		return "operator " + strings.ToLower(op)
	}
	name := strings.ToLower(strings.TrimSuffix(m.Name, "."))
	if _, err := netip.ParseAddr(name); err == nil || name == "" || m.Pool ||
		name == poolDomain || strings.HasSuffix(name, "."+poolDomain) {
		return "network " + netPrefix(m.Address).String()
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(name); err == nil {
		return "domain " + d
	}
	return "host " + name
}

// upstream identifies a stratum ≥ 2 server's reference (its refid: the
// upstream's IPv4 address or a hash of its IPv6 address). Stratum-1 refids
// ("GPS", "PPS") name a kind of clock, not a shared upstream: 0 then.
func upstream(m *Measurement) uint32 {
	if m.Stratum < 2 {
		return 0
	}
	if m.RefIDRaw != 0 {
		return m.RefIDRaw
	}
	if a, err := netip.ParseAddr(m.RefID); err == nil {
		return refidOf(a)
	}
	return 0
}

// refidOf is the refid an IPv4 server's clients see for it (RFC 5905
// section 7.3: the upstream's IPv4 address); 0 for IPv6, whose refid is a
// hash this package does not compute.
func refidOf(addr netip.Addr) uint32 {
	addr = addr.Unmap()
	if !addr.Is4() {
		return 0
	}
	b := addr.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// conflict says which diversity rule two candidates break together, as
// the level needed to admit both, and a phrase for the reason.
func conflict(a, b *Candidate) (level, string) {
	switch {
	case a.OperatorKey == b.OperatorKey:
		return levelNoOperator, fmt.Sprintf("same operator (%s) as %s", a.OperatorKey, b.Address)
	case a.upstream != 0 && a.upstream == b.upstream:
		return levelNoRefID, fmt.Sprintf("same upstream (refid %s) as %s", a.RefID, b.Address)
	case a.upstream != 0 && a.upstream == refidOf(b.Address):
		return levelNoRefID, fmt.Sprintf("takes its time from %s", b.Address)
	case b.upstream != 0 && b.upstream == refidOf(a.Address):
		return levelNoRefID, fmt.Sprintf("is the upstream of %s", b.Address)
	case a.prefix == b.prefix:
		return levelNoPrefix, fmt.Sprintf("same network (%s) as %s", a.prefix, b.Address)
	}
	return levelStrict, ""
}

// fit is the strictest level at which c can join set without breaking a
// rule, with the worst conflict's phrase. skip is left out of set (the
// member c would replace); nil skips nothing.
func fit(c *Candidate, set []*Candidate, skip *Candidate) (level, string) {
	worst, why := levelStrict, ""
	for _, s := range set {
		if s == skip || s == c {
			continue
		}
		if l, w := conflict(c, s); l > worst {
			worst, why = l, w
		}
	}
	return worst, why
}
