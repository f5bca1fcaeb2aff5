package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// ErrDown is what every request to a chronyd that is not running fails
// with.
var ErrDown = errors.New("chronyd's command socket /run/chrony/chronyd.sock: connection refused")

// Timing of chronyd's polls: iburst sends 4 requests 2 s apart, then the
// source is polled every pollInterval (chronyd's maxpoll 10).
const (
	burst        = 4
	burstSpacing = 2 * time.Second
	pollInterval = 1024 * time.Second
	maxSamples   = 32
	// poolUnreach is how many polls a pool member may go unanswered
	// before chronyd replaces it.
	poolUnreach = 8
)

// Pooled is a `pool` directive of chronyd's configuration.
type Pooled struct {
	Name       string
	MaxSources int
}

// Chronyd is chronyd at the level of meaning, as the live backend sees it
// (it satisfies chronylive.Client): sources it polls on the world's clock,
// each with a reach register and samples; pools it refills from fresh DNS
// answers whenever a member is deleted or stays unreachable; a selection
// with falsetickers marked by the intersection of the sources' intervals;
// restarts that read the configuration and the agent's sources file; and
// being down.
type Chronyd struct {
	W *World
	// Servers and Pools are the configuration's `server` (by address) and
	// `pool` directives; SourcesFile is the agent's file in the sourcedir.
	Servers     []netip.Addr
	Pools       []Pooled
	SourcesFile string

	mu     sync.Mutex
	down   bool
	srcs   []*source
	adds   int
	dels   int
	refill int
}

type source struct {
	addr    netip.Addr
	pool    string
	reach   uint8
	polls   int // requests sent (ntpdata's TotalTx)
	unreach int // consecutive unanswered polls
	samples int
	next    time.Time
	burst   int // requests of the initial burst still to send
	last    *Server
}

// Start (re)starts chronyd: its configuration's servers and pools, then
// the sources file, all with iburst.
func (c *Chronyd) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down, c.srcs = false, nil
	for _, a := range c.Servers {
		c.addLocked(a, "")
	}
	if c.SourcesFile != "" {
		if data, err := os.ReadFile(c.SourcesFile); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) >= 2 && f[0] == "server" {
					if a, err := netip.ParseAddr(f[1]); err == nil && c.find(a) == nil {
						c.addLocked(a, "")
					}
				}
			}
		}
	}
	c.refillLocked()
}

// Stop makes chronyd not running: every request fails until Start.
func (c *Chronyd) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down, c.srcs = true, nil
}

// Up says chronyd is running.
func (c *Chronyd) Up() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.down
}

func (c *Chronyd) addLocked(a netip.Addr, pool string) {
	c.srcs = append(c.srcs, &source{addr: a, pool: pool, next: c.W.Clock.Now(), burst: burst})
}

func (c *Chronyd) find(a netip.Addr) *source {
	for _, s := range c.srcs {
		if s.addr == a {
			return s
		}
	}
	return nil
}

// sync makes every poll due by now, then refills the pools.
func (c *Chronyd) sync() {
	now := c.W.Clock.Now()
	for _, s := range c.srcs {
		for !s.next.After(now) {
			if s.burst == 0 {
				// Only the last 8 polls matter to the register; skip the
				// rest of a long gap.
				if due := int(now.Sub(s.next) / pollInterval); due > 8 {
					s.next = s.next.Add(time.Duration(due-8) * pollInterval)
					s.polls += due - 8
				}
			}
			s.poll(c.W)
			if s.burst > 0 {
				s.burst--
			}
			if s.burst > 0 {
				s.next = s.next.Add(burstSpacing)
			} else {
				s.next = s.next.Add(pollInterval)
			}
		}
	}
	c.refillLocked()
}

func (s *source) poll(w *World) {
	s.polls++
	s.reach <<= 1
	r := w.reply(s.addr, false)
	if r == nil || r.KoD != "" {
		s.unreach++
		return
	}
	s.reach |= 1
	s.unreach = 0
	s.samples = min(s.samples+1, maxSamples)
	s.last = r
}

// refillLocked replaces pool members chronyd gave up on, when DNS gives
// a new address for them, and fills each pool to its size from a fresh
// DNS answer.
func (c *Chronyd) refillLocked() {
	for _, p := range c.Pools {
		var members, dead []*source
		for _, s := range c.srcs {
			if s.pool == p.Name {
				members = append(members, s)
				if s.unreach >= poolUnreach {
					dead = append(dead, s)
				}
			}
		}
		if len(members) >= p.MaxSources && len(dead) == 0 {
			continue
		}
		addrs, err := c.W.Resolve(p.Name)
		if err != nil {
			continue
		}
		n := len(members)
		for _, a := range addrs {
			if c.find(a) != nil {
				continue
			}
			switch {
			case len(dead) > 0:
				gone := dead[0]
				dead = dead[1:]
				c.srcs = slices.DeleteFunc(c.srcs, func(s *source) bool { return s == gone })
			case n >= p.MaxSources:
				continue
			default:
				n++
			}
			c.addLocked(a, p.Name)
			c.refill++
		}
	}
}

// Sources answers like chronyd's sources, sourcestats, ntpdata and
// selectdata for every source.
func (c *Chronyd) Sources(context.Context) ([]chronyctl.Source, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, ErrDown
	}
	c.sync()
	states := c.selection()
	out := make([]chronyctl.Source, len(c.srcs))
	for i, s := range c.srcs {
		name := s.addr.String()
		if s.pool != "" {
			name = s.pool
		}
		cs := chronyctl.Source{Index: i, Address: chronyctl.AddrFromIP(s.addr), Name: name, Mode: chronyctl.ModeServer,
			State: states[s], Poll: 10, Reach: s.reach, LastRx: chronyctl.NoSample,
			Has: chronyctl.Has{Stats: true, NTPData: true, Select: true, Name: true}}
		cs.NTP.RemotePort, cs.NTP.TotalTx = 123, uint32(s.polls)
		if l := s.last; l != nil {
			leap, stratum := uint8(0), l.Stratum
			if l.Unsync {
				leap, stratum = 3, 16
			}
			cs.Stratum = stratum
			cs.NTP.Leap, cs.NTP.Stratum = leap, uint8(stratum)
			cs.NTP.RootDelay, cs.NTP.RootDispersion, cs.NTP.Delay = l.RootDelay, l.RootDisp, l.Delay
			cs.NTP.RefID = refID(l)
			// chronyd's sense: its clock minus the server's.
			off := -l.Offset + c.W.noise(l.Jitter/4)
			cs.Stats = chronyctl.SourceStats{Samples: uint32(s.samples), StdDev: l.Jitter, EstOffset: off}
			cs.Offset, cs.MeasuredOffset = off, off
			cs.LastRx = 60
		}
		out[i] = cs
	}
	return out, nil
}

// SourcesParts is Sources: the simulation always has every part.
func (c *Chronyd) SourcesParts(ctx context.Context, _ chronyctl.Parts) ([]chronyctl.Source, error) {
	return c.Sources(ctx)
}

// selection gives each source chronyd's state: '?' without a usable
// sample, 'x' outside the largest group of agreeing intervals when that
// group is a majority, '*' the best of the rest, '+' the others.
func (c *Chronyd) selection() map[*source]chronyctl.State {
	st := map[*source]chronyctl.State{}
	type iv struct {
		s      *source
		lo, hi float64
	}
	var ivs []iv
	for _, s := range c.srcs {
		st[s] = chronyctl.StateUnusable
		if s.reach == 0 || s.last == nil || s.last.Unsync || s.samples < 3 {
			continue
		}
		l := s.last
		d := l.Delay/2 + l.RootDelay/2 + l.RootDisp + 3*l.Jitter
		ivs = append(ivs, iv{s, l.Offset - d, l.Offset + d})
	}
	if len(ivs) == 0 {
		return st
	}
	best, at := 0, 0.0
	for _, p := range ivs {
		for _, x := range []float64{p.lo, p.hi} {
			n := 0
			for _, q := range ivs {
				if q.lo <= x && x <= q.hi {
					n++
				}
			}
			if n > best {
				best, at = n, x
			}
		}
	}
	var sel *source
	for _, p := range ivs {
		if 2*best > len(ivs) && (p.lo > at || p.hi < at) {
			st[p.s] = chronyctl.StateFalseticker
			continue
		}
		st[p.s] = chronyctl.StateCombined
		if sel == nil || dist(p.s) < dist(sel) {
			sel = p.s
		}
	}
	if sel != nil {
		st[sel] = chronyctl.StateSelected
	}
	return st
}

func dist(s *source) float64 { return s.last.Delay/2 + s.last.RootDelay/2 + s.last.RootDisp }

func refID(s *Server) uint32 {
	a, err := netip.ParseAddr(s.RefID)
	if err != nil || !a.Is4() {
		var id uint32
		for i := 0; i < 4 && i < len(s.RefID); i++ {
			id |= uint32(s.RefID[i]) << (24 - 8*i)
		}
		return id
	}
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Tracking answers with a normal leap status once a source is selected.
func (c *Chronyd) Tracking(context.Context) (chronyctl.Tracking, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return chronyctl.Tracking{}, ErrDown
	}
	c.sync()
	for s, state := range c.selection() {
		if state == chronyctl.StateSelected {
			return chronyctl.Tracking{Address: chronyctl.AddrFromIP(s.addr), Stratum: s.last.Stratum + 1,
				Leap: chronyctl.LeapNormal}, nil
		}
	}
	return chronyctl.Tracking{Leap: chronyctl.LeapNotSynchronised}, nil
}

// AddSource adds a server by address, with iburst (4 requests the agent
// caused).
func (c *Chronyd) AddSource(_ context.Context, r chronyctl.AddSourceRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrDown
	}
	a, err := netip.ParseAddr(r.Name)
	if err != nil {
		return fmt.Errorf("simulated chronyd adds addresses only, not %q", r.Name)
	}
	c.sync()
	if c.find(a) != nil {
		return chronyctl.ErrSourceExists
	}
	c.addLocked(a, "")
	c.adds++
	c.W.count(a, burst)
	c.sync()
	return nil
}

// DeleteSource deletes a source; a pool refills at once from DNS.
func (c *Chronyd) DeleteSource(_ context.Context, a chronyctl.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrDown
	}
	n := len(c.srcs)
	c.srcs = slices.DeleteFunc(c.srcs, func(s *source) bool { return s.addr == a.IP })
	if len(c.srcs) == n {
		return chronyctl.ErrNoSuchSource
	}
	c.dels++
	c.sync()
	return nil
}

// View is one source as a check sees it.
type View struct {
	Addr netip.Addr
	Pool string
	// Working: reachable (an answer in the last 8 polls) and selectable
	// (not '?' or 'x').
	Working bool
}

// View returns chronyd's sources now; nil when it is down.
func (c *Chronyd) View() []View {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil
	}
	c.sync()
	states := c.selection()
	out := make([]View, len(c.srcs))
	for i, s := range c.srcs {
		st := states[s]
		out[i] = View{Addr: s.addr, Pool: s.pool,
			Working: s.reach != 0 && st != chronyctl.StateUnusable && st != chronyctl.StateFalseticker}
	}
	return out
}

// Counts returns how many sources the agent added and deleted, and how
// many pool members chronyd itself took in, since Start.
func (c *Chronyd) Counts() (adds, deletes, refills int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.adds, c.dels, c.refill
}
