package ntplab

import (
	"net/netip"
	"sync"
	"time"
)

// maxClients bounds the per-client tables (rate-limit buckets, gap
// tracking) so a long-running lab cannot grow without limit.
const maxClients = 4096

// Stats counts what a server received and did. Tests use Received and
// MinGap to check a client's politeness.
type Stats struct {
	Received    int // packets that reached the server's socket
	Invalid     int // packets that were not client-mode NTP requests (ignored)
	Replied     int // time replies sent
	KoDSent     int // kiss-o'-death replies sent (profile KoD or rate limit)
	Lost        int // requests dropped by the loss model or because the server is silent
	RateLimited int // requests over the rate limit (dropped or answered with KoD RATE)
	Clients     int // distinct client addresses seen
	// MinGap is the shortest time between two consecutive requests from the
	// same client address, by kernel receive timestamps; 0 until a client
	// has sent two.
	MinGap time.Duration
}

type clientStat struct {
	count  int
	last   time.Time
	minGap time.Duration
}

// counter is the concurrency-safe bookkeeping behind Stats.
type counter struct {
	mu      sync.Mutex
	s       Stats
	clients map[netip.Addr]*clientStat
}

// arrival records a packet from addr received at t.
func (c *counter) arrival(addr netip.Addr, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Received++
	if c.clients == nil {
		c.clients = make(map[netip.Addr]*clientStat)
	}
	cs := c.clients[addr]
	if cs == nil {
		if len(c.clients) >= maxClients {
			return
		}
		cs = &clientStat{}
		c.clients[addr] = cs
		c.s.Clients++
	}
	if cs.count > 0 {
		gap := t.Sub(cs.last)
		if cs.count == 1 || gap < cs.minGap {
			cs.minGap = gap
		}
		if c.s.MinGap == 0 || gap < c.s.MinGap {
			c.s.MinGap = gap
		}
	}
	cs.count++
	cs.last = t
}

func (c *counter) add(f func(*Stats)) {
	c.mu.Lock()
	f(&c.s)
	c.mu.Unlock()
}

func (c *counter) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s
}

// client returns the request count and minimum gap seen from addr.
func (c *counter) client(addr netip.Addr) (int, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs := c.clients[addr]; cs != nil {
		return cs.count, cs.minGap
	}
	return 0, 0
}

// bucket is one client's token bucket for RateLimit.
type bucket struct {
	tokens float64
	last   time.Time
}

// limiter applies a RateLimit per client address. It is used only from the
// server's read loop.
type limiter struct {
	rl      RateLimit
	buckets map[netip.Addr]*bucket
}

// allow reports whether a request from addr at t is within the limit.
func (l *limiter) allow(addr netip.Addr, t time.Time) bool {
	if l.buckets == nil || len(l.buckets) >= maxClients {
		l.buckets = make(map[netip.Addr]*bucket)
	}
	b := l.buckets[addr]
	if b == nil {
		b = &bucket{tokens: float64(l.rl.Burst), last: t}
		l.buckets[addr] = b
	}
	if el := t.Sub(b.last); el > 0 {
		b.tokens = min(float64(l.rl.Burst), b.tokens+float64(el)/float64(l.rl.Interval))
	}
	b.last = t
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
