package chronyctl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/facebook/time/ntp/chrony"
)

// Address families of candm.h's IPAddr (addressing.h IPADDR_*).
const (
	familyUnspec = 0
	familyInet4  = 1
	familyInet6  = 2
	familyID     = 3
)

// ipAddrLen is the wire size of an IPAddr: 16 address bytes, family, pad.
const ipAddrLen = 20

// Addr identifies a source the way chronyd does: by IP address, or, for a
// source whose name is not resolved yet, by an ID pseudo-address that
// chronyc prints as ID#0000000001 (ten decimal digits). The zero Addr is
// "unspecified" (chronyd's IPADDR_UNSPEC), which reference clocks have.
type Addr struct {
	IP netip.Addr // valid for a resolved source
	ID uint32     // non-zero for an unresolved source (IP invalid then)
}

// AddrFromIP returns the Addr of an IP address. An IPv4-mapped IPv6
// address stays IPv6, as chronyd and chronyc treat it.
func AddrFromIP(ip netip.Addr) Addr { return Addr{IP: ip.WithZone("")} }

// IDAddr returns the pseudo-address of unresolved source number id.
func IDAddr(id uint32) Addr { return Addr{ID: id} }

// IsID reports whether a is an unresolved source's ID pseudo-address.
func (a Addr) IsID() bool { return !a.IP.IsValid() && a.ID != 0 }

// IsUnspecified reports whether a is neither an IP nor an ID.
func (a Addr) IsUnspecified() bool { return !a.IP.IsValid() && a.ID == 0 }

// String formats a as chronyc does: the IP address, ID#%010d, or "" when
// unspecified.
func (a Addr) String() string {
	switch {
	case a.IP.IsValid():
		return a.IP.String()
	case a.ID != 0:
		return fmt.Sprintf("ID#%010d", a.ID)
	}
	return ""
}

// ErrBadAddress is returned by ParseAddr for text that is neither an IP
// address nor an ID#n pseudo-address.
var ErrBadAddress = errors.New("not an IP address or ID#n source address")

// ParseAddr parses an IP address or chronyc's ID#n form (decimal, leading
// zeros allowed, as chronyc accepts it).
func ParseAddr(s string) (Addr, error) {
	if rest, ok := strings.CutPrefix(s, "ID#"); ok {
		id, err := strconv.ParseUint(rest, 10, 32)
		if err != nil || id == 0 {
			return Addr{}, fmt.Errorf("%q: %w", s, ErrBadAddress)
		}
		return IDAddr(uint32(id)), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return Addr{}, fmt.Errorf("%q: %w", s, ErrBadAddress)
	}
	return AddrFromIP(ip), nil
}

// MarshalText implements encoding.TextMarshaler (JSON: "192.0.2.1",
// "ID#0000000003", or "" when unspecified).
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Addr) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = Addr{}
		return nil
	}
	v, err := ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// putIPAddr writes a in candm.h's 20-byte IPAddr layout.
func putIPAddr(b []byte, a Addr) {
	clear(b[:ipAddrLen])
	switch {
	case a.IP.Is4():
		v4 := a.IP.As4()
		copy(b, v4[:])
		binary.BigEndian.PutUint16(b[16:], familyInet4)
	case a.IP.Is6():
		v6 := a.IP.As16()
		copy(b, v6[:])
		binary.BigEndian.PutUint16(b[16:], familyInet6)
	case a.ID != 0:
		binary.BigEndian.PutUint32(b, a.ID)
		binary.BigEndian.PutUint16(b[16:], familyID)
	}
}

// addrFromLib converts the library's IPAddr. Unknown families decode as
// unspecified, as chronyd itself does.
func addrFromLib(ip *chrony.IPAddr) Addr {
	if ip == nil {
		return Addr{}
	}
	switch ip.Family {
	case familyInet4:
		return Addr{IP: netip.AddrFrom4([4]byte(ip.IP[:4]))}
	case familyInet6:
		return AddrFromIP(netip.AddrFrom16(ip.IP))
	case familyID:
		return IDAddr(binary.BigEndian.Uint32(ip.IP[:4]))
	}
	return Addr{}
}

// libAddr converts a to the library's IPAddr for its request constructors.
func libAddr(a Addr) *chrony.IPAddr {
	var b [ipAddrLen]byte
	putIPAddr(b[:], a)
	out := &chrony.IPAddr{Family: binary.BigEndian.Uint16(b[16:])}
	copy(out.IP[:], b[:16])
	return out
}
