package prober

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Why a sample's query was cut short (the cause of its context).
var (
	errStopped  = errors.New("abandoned: this address sent a kiss-o'-death")
	errAddrDone = errors.New("no reply before this address's last request was done")
	errFatal    = errors.New("abandoned: this address cannot be reached")
)

// noReplyError is the cause when a sample's wait runs out.
type noReplyError struct{ wait time.Duration }

func (e noReplyError) Error() string { return fmt.Sprintf("no reply within %v", e.wait) }

// staggerStep spaces the first requests of successive addresses.
const staggerStep = 250 * time.Microsecond

// addrRun is the state of one address during a run.
type addrRun struct {
	addr    netip.AddrPort
	res     *Result
	spacing time.Duration

	mu       sync.Mutex
	sentAt   []time.Time // per sample; zero if not sent
	lastSent time.Time
	maxDelay time.Duration // largest delay of a usable reply so far
	stopped  bool
}

// measure sends this address's samples on schedule and waits for them.
func (p *Prober) measure(ctx context.Context, a *addrRun, k int) {
	n := p.Samples
	a.sentAt = make([]time.Time, n)
	samples := make([]Sample, n)
	actx, finish := context.WithCancelCause(ctx)
	defer finish(nil)
	log := p.Logger.With().Str("server", a.res.Server).Str("addr", a.addr.String()).Logger()

	var wg sync.WaitGroup
	prev := make(chan struct{})
	close(prev)
	// Address k starts k × staggerStep after the first, so hundreds of
	// addresses do not send in the same instant (which would put every
	// send and receive timestamp behind the same burst of goroutines).
	start := p.Clock.Now().Add(time.Duration(k) * staggerStep)
	for i := 0; i < n; i++ {
		if !p.sleepUntil(actx, a.nextDue(start, i)) {
			break
		}
		if a.isStopped() || !p.acquire(actx) {
			break
		}
		final := i == n-1
		mine := make(chan struct{})
		wg.Add(1)
		go func(i int, prev <-chan struct{}) {
			defer wg.Done()
			defer p.release()
			var once sync.Once
			passed := func() { once.Do(func() { close(mine) }) }
			defer passed()
			sctx, cancel := context.WithCancelCause(actx)
			defer cancel(nil)
			sent := make(chan struct{})
			// The wait for the reply runs from the moment of sending.
			go func() {
				select {
				case <-sent:
				case <-sctx.Done():
					return
				}
				wait := p.Timeout
				if final {
					wait = a.finalWait(p.Config)
				}
				select {
				case <-p.Clock.After(wait):
					cancel(noReplyError{wait})
				case <-sctx.Done():
				}
			}()
			gate := &sampleGate{p: p, a: a, i: i, ctx: sctx, prev: prev, passed: passed, sent: sent}
			r, err := p.Query(sctx, a.addr, gate)
			s := sampleFrom(r, err)
			s.Seq = i
			samples[i] = s
			wasSent := a.record(&samples[i])
			if wasSent {
				p.update(func(pr *Progress) { pr.SamplesSent++ })
			}
			switch {
			case s.OK:
				p.update(func(pr *Progress) { pr.SamplesOK++ })
			case stopsProbing(s.KoD):
				log.Info().Str("kod", s.KoD).Msg("kiss-o'-death: no more requests to this address")
				a.stop()
				finish(errStopped)
			case !wasSent && actx.Err() == nil && sctx.Err() == nil:
				// It failed before sending: e.g. no route (no IPv6
				// connectivity). Trying again would fail the same way.
				a.fail("cannot send: " + s.Err)
				finish(errFatal)
			}
			log.Debug().Int("seq", i).Bool("ok", s.OK).Dur("offset", s.Offset).Dur("delay", s.Delay).Str("err", s.Err).Msg("sample")
			if final {
				finish(errAddrDone)
			}
		}(i, prev)
		prev = mine
	}
	wg.Wait()
	for _, s := range samples {
		if !s.Sent.IsZero() {
			a.res.Samples = append(a.res.Samples, s)
		}
	}
}

// sampleGate is sample i's Gate. Samples pass in order: Wait first waits
// for the previous sample to be sent (or given up), then until the spacing
// has passed since that send completed; Sent records the send and lets the
// next sample through. So two packets to one address leave at least the
// spacing apart, however late a goroutine runs.
type sampleGate struct {
	p      *Prober
	a      *addrRun
	i      int
	ctx    context.Context
	prev   <-chan struct{}
	passed func()
	sent   chan struct{} // closed by Sent
	once   sync.Once
}

func (g *sampleGate) Wait() error {
	select {
	case <-g.prev:
	case <-g.ctx.Done():
		return context.Cause(g.ctx)
	}
	for {
		g.a.mu.Lock()
		stopped, last := g.a.stopped, g.a.lastSent
		g.a.mu.Unlock()
		if stopped {
			return errStopped
		}
		now := g.p.Clock.Now()
		due := last.Add(g.a.spacing + sendGuard(g.a.spacing))
		if last.IsZero() || !now.Before(due) {
			return nil // nothing slow between here and the write
		}
		select {
		case <-g.p.Clock.After(due.Sub(now)):
		case <-g.ctx.Done():
			return context.Cause(g.ctx)
		}
	}
}

func (g *sampleGate) Sent() {
	g.once.Do(func() {
		now := g.p.Clock.Now()
		g.a.mu.Lock()
		g.a.lastSent, g.a.sentAt[g.i] = now, now
		g.a.mu.Unlock()
		close(g.sent)
		g.passed()
	})
}

// sendGuard is added to the spacing when sending: the server sees arrival
// times, and the path (even loopback under load) can shift one packet's
// arrival relative to the next by a little.
func sendGuard(spacing time.Duration) time.Duration {
	return max(time.Millisecond, spacing/200)
}

// record stores the sending time in s, updates the delays seen and
// reports whether the sample was sent.
func (a *addrRun) record(s *Sample) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.Sent = a.sentAt[s.Seq]
	if s.OK {
		a.maxDelay = max(a.maxDelay, s.Delay)
	}
	return !s.Sent.IsZero()
}

// nextDue is when sample i may go: on the grid start + i×step, and not
// before a step after the last request sent (step = spacing + guard).
func (a *addrRun) nextDue(start time.Time, i int) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	step := a.spacing + sendGuard(a.spacing)
	due := start.Add(time.Duration(i) * step)
	if !a.lastSent.IsZero() {
		if d := a.lastSent.Add(step); d.After(due) {
			due = d
		}
	}
	return due
}

// finalWait is how long the last request waits: FinalWaitFactor × the
// largest delay seen from this address, within [FinalWaitMin, Timeout].
func (a *addrRun) finalWait(c Config) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return min(max(time.Duration(c.FinalWaitFactor)*a.maxDelay, c.FinalWaitMin), c.Timeout)
}

// fail stops the address and records the first reason.
func (a *addrRun) fail(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	if a.res.Err == "" {
		a.res.Err = msg
	}
}

func (a *addrRun) stop() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
}

func (a *addrRun) isStopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopped
}

// sleepUntil waits until t on the prober's clock; false if ctx ended first.
func (p *Prober) sleepUntil(ctx context.Context, t time.Time) bool {
	d := t.Sub(p.Clock.Now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-p.Clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
