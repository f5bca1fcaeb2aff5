package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

// Server is one simulated NTP server and the truth about it. Times are
// seconds; Offset is the server's clock minus this machine's.
type Server struct {
	Name      string
	Addr      netip.Addr
	Offset    float64
	Delay     float64
	Jitter    float64
	RootDelay float64
	RootDisp  float64
	Stratum   int
	RefID     string
	// Dead servers never answer; Loss is the share of requests dropped.
	Dead bool
	Loss float64
	// KoD is a kiss code sent instead of time ("RATE", "DENY").
	KoD string
	// Unsync servers answer with leap 3 and stratum 16.
	Unsync bool
}

// Bad says the truth makes the server unfit for any set: dead, sending
// kiss codes, unsynchronised, or more than 50 ms off.
func (s *Server) Bad() bool {
	return s.Dead || s.KoD != "" || s.Unsync || s.Offset > 0.05 || s.Offset < -0.05
}

// Pool is a DNS name whose answers rotate through its members.
type Pool struct {
	Name      string
	Members   []netip.Addr
	PerAnswer int
}

// World is the simulated network. Its fields are set by the timeline
// between runs; the agent's run reads them.
type World struct {
	Clock *clocktest.Stepper

	mu      sync.Mutex
	rng     *rand.Rand
	servers map[netip.Addr]*Server
	names   map[string][]netip.Addr
	pools   map[string]*Pool

	// NetDown: nothing leaves this machine. NoRoute says it fails with
	// ENETUNREACH (a laptop offline) rather than timing out.
	NetDown, NoRoute bool
	// DNSDown: every name fails to resolve.
	DNSDown bool
	// DropProbes: a firewall drops the agent's probes, not chronyd's polls.
	DropProbes bool

	packets map[netip.Addr]int // agent-caused packets since ResetPackets
}

// NewWorld returns an empty world on a clock starting at start.
func NewWorld(seed uint64, start time.Time) *World {
	return &World{Clock: clocktest.NewStepper(start), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		servers: map[netip.Addr]*Server{}, names: map[string][]netip.Addr{}, pools: map[string]*Pool{},
		packets: map[netip.Addr]int{}}
}

// Add puts a server in the world, reachable under its name.
func (w *World) Add(s *Server) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.servers[s.Addr] = s
	w.names[strings.ToLower(s.Name)] = []netip.Addr{s.Addr}
}

// AddPool makes a DNS name answer with p.PerAnswer random members.
func (w *World) AddPool(p *Pool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pools[strings.ToLower(p.Name)] = p
}

// Server returns the server at addr (nil if none).
func (w *World) Server(addr netip.Addr) *Server {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.servers[addr]
}

// Servers returns every server, by address.
func (w *World) Servers() []*Server {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*Server, 0, len(w.servers))
	for _, s := range w.servers {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Server) int { return a.Addr.Compare(b.Addr) })
	return out
}

// errNXDomain and errDNSDown are what resolution fails with.
var (
	errNXDomain = errors.New("no such host")
	errDNSDown  = errors.New("read udp 127.0.0.1:53: i/o timeout")
)

// Resolve answers a DNS query for name.
func (w *World) Resolve(name string) ([]netip.Addr, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.DNSDown || w.NetDown {
		return nil, fmt.Errorf("lookup %s: %w", name, errDNSDown)
	}
	if p := w.pools[strings.ToLower(name)]; p != nil {
		idx := w.rng.Perm(len(p.Members))[:min(p.PerAnswer, len(p.Members))]
		out := make([]netip.Addr, len(idx))
		for i, k := range idx {
			out[i] = p.Members[k]
		}
		return out, nil
	}
	if a, ok := w.names[strings.ToLower(name)]; ok {
		return slices.Clone(a), nil
	}
	return nil, fmt.Errorf("lookup %s: %w", name, errNXDomain)
}

// reply is what one request to addr got back: nil for silence.
func (w *World) reply(addr netip.Addr, probe bool) *Server {
	w.mu.Lock()
	defer w.mu.Unlock()
	if probe {
		w.packets[addr]++
	}
	s := w.servers[addr]
	switch {
	case s == nil, w.NetDown, probe && w.DropProbes, s.Dead:
		return nil
	case s.Loss > 0 && w.rng.Float64() < s.Loss:
		return nil
	}
	c := *s
	return &c
}

// noise is a normal draw with standard deviation sd.
func (w *World) noise(sd float64) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rng.NormFloat64() * sd
}

// count adds agent-caused packets to addr (chronyd's iburst of a source
// the agent added).
func (w *World) count(addr netip.Addr, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.packets[addr] += n
}

// ResetPackets starts a new count of the packets the agent causes.
func (w *World) ResetPackets() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.packets)
}

// Packets returns the agent-caused packets per address since ResetPackets.
func (w *World) Packets() map[netip.Addr]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[netip.Addr]int, len(w.packets))
	for a, n := range w.packets {
		out[a] = n
	}
	return out
}
