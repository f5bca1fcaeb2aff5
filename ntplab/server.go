package ntplab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/internal/rxtime"
)

// Server is one simulated NTP server bound to its own UDP address.
type Server struct {
	pmu   sync.Mutex // guards prof, refID and limit (SetProfile)
	prof  Profile
	refID uint32
	conn  *net.UDPConn
	addr  netip.AddrPort
	cnt   counter

	// Used only by the read loop.
	rng       *rand.Rand
	lossPhase float64
	lossSeq   int
	limit     *limiter

	mu      sync.Mutex
	closed  bool
	pending map[*time.Timer]struct{}
	wg      sync.WaitGroup // read loop and reply callbacks
}

// Listen validates p, binds a UDP socket to addr and starts answering. seed
// makes the server's random draws (delays, loss phase) reproducible.
func Listen(addr netip.AddrPort, p Profile, seed uint64) (*Server, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	ref, err := p.refID()
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("lab server %q: %w", p.Name, err)
	}
	if err := rxtime.Enable(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lab server %q: %w", p.Name, err)
	}
	s := &Server{
		prof:    p,
		refID:   ref,
		conn:    conn,
		addr:    conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		pending: make(map[*time.Timer]struct{}),
	}
	s.lossPhase = s.rng.Float64()
	if p.RateLimit != nil {
		s.limit = &limiter{rl: *p.RateLimit}
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Profile is the server's profile, with defaults applied.
func (s *Server) Profile() Profile {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.prof
}

// SetProfile changes how the server behaves from the next request on
// (tests use it to make a server's quality change between runs). The
// reference ID and rate limiter follow the new profile; the address stays.
func (s *Server) SetProfile(p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p = p.withDefaults()
	ref, err := p.refID()
	if err != nil {
		return err
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.prof, s.refID = p, ref
	s.limit = nil
	if p.RateLimit != nil {
		s.limit = &limiter{rl: *p.RateLimit}
	}
	return nil
}

// Stats returns the server's counters so far.
func (s *Server) Stats() Stats { return s.cnt.snapshot() }

// ClientStats returns how many requests came from addr and the shortest
// gap between two of them.
func (s *Server) ClientStats(addr netip.Addr) (count int, minGap time.Duration) {
	return s.cnt.client(addr)
}

// Close stops the server, cancels replies not yet sent and waits for its
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for t := range s.pending {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.pending = nil
	s.mu.Unlock()
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1024)
	oob := make([]byte, rxtime.OOBSize)
	for {
		n, oobn, _, from, err := s.conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		at := rxtime.FromOOB(oob[:oobn])
		s.handle(buf[:n], from, at)
	}
}

// handle decides what to do with one packet that arrived at host time at.
func (s *Server) handle(b []byte, from netip.AddrPort, at time.Time) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	client := from.Addr().Unmap()
	s.cnt.arrival(client, at)
	req, ok := parseRequest(b)
	if !ok {
		s.cnt.add(func(st *Stats) { st.Invalid++ })
		return
	}
	if s.prof.Silent || s.lost() {
		s.cnt.add(func(st *Stats) { st.Lost++ })
		return
	}
	dOut, dBack := s.drawDelays()
	if s.limit != nil && !s.limit.allow(client, at) {
		s.cnt.add(func(st *Stats) { st.RateLimited++ })
		if s.limit.rl.Action == ActionKoD {
			s.later(at.Add(dOut+dBack), from, func(time.Time) []byte { return kodReply(req, packCode("RATE")) })
			s.cnt.add(func(st *Stats) { st.KoDSent++ })
		}
		return
	}
	if s.prof.KoD != "" {
		code := packCode(s.prof.KoD)
		s.later(at.Add(dOut+dBack), from, func(time.Time) []byte { return kodReply(req, code) })
		s.cnt.add(func(st *Stats) { st.KoDSent++ })
		return
	}
	offset := s.prof.Offset
	t2 := at.Add(dOut + offset)
	pkt := s.timeReply(t2).marshal(req)
	s.later(at.Add(dOut+dBack), from, func(now time.Time) []byte {
		// The transmit timestamp is the last thing written before the
		// packet leaves.
		t3 := now.Add(offset - dBack)
		if t3.Before(t2) {
			t3 = t2
		}
		binary.BigEndian.PutUint64(pkt[40:], toNTP(t3))
		return pkt
	})
	s.cnt.add(func(st *Stats) { st.Replied++ })
}

// timeReply fills a normal reply received at server time t2; the caller
// sets the transmit timestamp when sending.
func (s *Server) timeReply(t2 time.Time) reply {
	p := s.prof
	r := reply{
		leap:           uint8(p.Leap),
		stratum:        uint8(p.Stratum),
		precision:      int8(p.Precision),
		rootDelay:      p.RootDelay,
		rootDispersion: p.RootDispersion,
		refID:          s.refID,
		refTime:        toNTP(t2.Add(-p.RefAge)),
		receive:        toNTP(t2),
	}
	if p.Unsynchronized {
		r.leap, r.stratum, r.refID, r.refTime = 3, 0, 0, 0
	}
	return r
}

// lost applies the loss model to the next request.
func (s *Server) lost() bool {
	l := s.prof.Loss
	if l <= 0 {
		return false
	}
	if s.prof.LossPattern == LossRandom {
		return s.rng.Float64() < l
	}
	k := float64(s.lossSeq)
	s.lossSeq++
	return math.Floor((k+1)*l+s.lossPhase) > math.Floor(k*l+s.lossPhase)
}

// drawDelays draws the outbound and return delays (see the package doc).
func (s *Server) drawDelays() (out, back time.Duration) {
	p := s.prof
	draw := func(mean time.Duration) time.Duration {
		d := float64(mean) + s.rng.NormFloat64()*float64(p.Jitter)
		return time.Duration(max(d, 0))
	}
	return draw(p.Delay + p.Asymmetry/2), draw(p.Delay - p.Asymmetry/2)
}

// later sends the packet built by mk (given the host time of sending) to
// dst at host time due, or as soon after as the runtime allows.
func (s *Server) later(due time.Time, dst netip.AddrPort, mk func(now time.Time) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(time.Until(due), func() {
		defer s.wg.Done()
		s.mu.Lock()
		delete(s.pending, t)
		s.mu.Unlock()
		_, _ = s.conn.WriteToUDPAddrPort(mk(time.Now()), dst)
	})
	s.pending[t] = struct{}{}
}
