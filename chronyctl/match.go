package chronyctl

import (
	"fmt"
	"net/netip"
)

// Match selects the sources ONLINE, OFFLINE and BURST act on, as chronyc's
// [address | mask/address | address/bits] argument does: every source, one
// source (an IP or ID# address), or the sources in an IP prefix.
type Match struct {
	all    bool
	addr   Addr
	prefix netip.Prefix
}

// MatchAll matches every source, unresolved ones included.
func MatchAll() Match { return Match{all: true} }

// MatchAddr matches the one source with address a (IP or ID#).
func MatchAddr(a Addr) Match { return Match{addr: a} }

// MatchPrefix matches the sources whose IP address is in p.
func MatchPrefix(p netip.Prefix) Match { return Match{prefix: p.Masked()} }

// String describes the match for messages.
func (m Match) String() string {
	switch {
	case m.all:
		return "all sources"
	case m.prefix.IsValid():
		return m.prefix.String()
	}
	return m.addr.String()
}

// put writes the mask (at b[0:20]) and address (at b[20:40]) as chronyc
// does: both unspecified for all sources; an all-ones mask of the
// address's family for one IP; an unspecified mask (exact match) for an ID;
// the prefix's mask and address for a prefix.
func (m Match) put(b []byte) error {
	switch {
	case m.all:
		putIPAddr(b[0:], Addr{})
		putIPAddr(b[ipAddrLen:], Addr{})
	case m.prefix.IsValid():
		putMask(b[0:], m.prefix.Addr(), m.prefix.Bits())
		putIPAddr(b[ipAddrLen:], AddrFromIP(m.prefix.Addr()))
	case m.addr.IP.IsValid():
		putMask(b[0:], m.addr.IP, m.addr.IP.BitLen())
		putIPAddr(b[ipAddrLen:], m.addr)
	case m.addr.IsID():
		putIPAddr(b[0:], Addr{})
		putIPAddr(b[ipAddrLen:], m.addr)
	default:
		return fmt.Errorf("no source given: use MatchAll, MatchAddr or MatchPrefix")
	}
	return nil
}

// putMask writes a mask of the given length in ip's family.
func putMask(b []byte, ip netip.Addr, bits int) {
	var raw [16]byte
	for i := 0; i < bits; i++ {
		raw[i/8] |= 0x80 >> (i % 8)
	}
	mask := netip.AddrFrom16(raw)
	if ip.Is4() {
		mask = netip.AddrFrom4([4]byte(raw[:4]))
	}
	putIPAddr(b, AddrFromIP(mask))
}
