package ntplab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
)

// DefaultBase is the first address `ntplab run` binds; further servers take
// the following addresses.
var DefaultBase = netip.MustParseAddr("127.0.0.11")

// DefaultPort is the port `ntplab run` binds by default.
const DefaultPort = 123

// Options say where a Lab binds its servers.
type Options struct {
	// Base is the first server's address; server i gets Base + i, skipping
	// addresses ending in .0 and .255. Zero means DefaultBase.
	Base netip.Addr
	// Port is every server's port; 0 picks an ephemeral port per server.
	Port uint16
	// Seed overrides the scenario's seed when non-zero.
	Seed uint64
	// Spread puts each server in its own /24 (Base, Base+256, ...), so
	// network diversity rules see independent operators, as on the
	// internet.
	Spread bool
}

// Lab is a running scenario.
type Lab struct {
	Scenario *Scenario
	seed     uint64
	servers  []*Server
	byName   map[string]*Server
}

// Start binds and starts one server per expanded profile of sc.
func Start(sc *Scenario, opt Options) (*Lab, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	base := opt.Base
	if !base.IsValid() {
		base = DefaultBase
	}
	seed := opt.Seed
	if seed == 0 {
		seed = sc.Seed
	}
	if seed == 0 {
		seed = rand.Uint64() | 1
	}
	l := &Lab{Scenario: sc, seed: seed, byName: map[string]*Server{}}
	addr := skipReserved(base)
	for i, p := range sc.Expand() {
		if !addr.IsValid() {
			l.Close()
			return nil, fmt.Errorf("lab: ran out of addresses after %s", base)
		}
		s, err := Listen(netip.AddrPortFrom(addr, opt.Port), p, seed+uint64(i)*0x9e3779b97f4a7c15)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.servers = append(l.servers, s)
		l.byName[p.Name] = s
		addr = nextAddr(addr, opt.Spread)
	}
	return l, nil
}

// nextAddr is the address after a: the next one, or with spread the same
// host in the next /24.
func nextAddr(a netip.Addr, spread bool) netip.Addr {
	if !spread || !a.Is4() {
		return skipReserved(a.Next())
	}
	b := a.As4()
	n := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) + 256
	if n>>24 != uint32(b[0]) {
		return netip.Addr{} // left 127.0.0.0/8 (or the base's /8)
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// skipReserved steps over IPv4 addresses ending in .0 or .255.
func skipReserved(a netip.Addr) netip.Addr {
	for a.IsValid() && a.Is4() {
		b := a.As4()
		if b[3] != 0 && b[3] != 255 {
			break
		}
		a = a.Next()
	}
	return a
}

// Seed is the seed the servers' random draws derive from.
func (l *Lab) Seed() uint64 { return l.seed }

// Servers returns the servers in scenario order.
func (l *Lab) Servers() []*Server { return l.servers }

// Server returns the server with the given (expanded) name, or nil.
func (l *Lab) Server(name string) *Server { return l.byName[name] }

// Close stops every server.
func (l *Lab) Close() error {
	var errs []error
	for _, s := range l.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Resolver is a static name-to-addresses map with the shape of
// net.Resolver.LookupNetIP.
type Resolver map[string][]netip.Addr

// ErrNoSuchHost is returned by Resolver for names it does not hold.
var ErrNoSuchHost = errors.New("no such host")

// LookupNetIP returns the addresses for host filtered by network ("ip",
// "ip4" or "ip6").
func (r Resolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range r[host] {
		if (network == "ip4" && !a.Is4()) || (network == "ip6" && !a.Is6()) {
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lookup %s: %w", host, ErrNoSuchHost)
	}
	return out, nil
}
