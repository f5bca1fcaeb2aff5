package prober

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
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
// Sample i goes at the earliest at start + i × step; each is its own
// goroutine (sample), so a slow reply does not hold up the next request.
func (r *run) measure(ctx context.Context, a *addrRun, k int) {
	n := r.Samples
	a.sentAt = make([]time.Time, n)
	actx, finish := context.WithCancelCause(ctx)
	defer finish(nil)
	m := &addrMeasure{r: r, a: a, ctx: actx, finish: finish, samples: make([]Sample, n),
		log: r.log.With().Str("server", a.res.Server).Str("addr", a.addr.String()).Logger()}

	var wg sync.WaitGroup
	prev := make(chan struct{})
	close(prev)
	// Address k starts k × staggerStep after the first, so hundreds of
	// addresses do not send in the same instant (which would put every
	// send and receive timestamp behind the same burst of goroutines).
	start := r.clock.Now().Add(time.Duration(k) * staggerStep)
	for i := 0; i < n; i++ {
		if !r.sleepUntil(actx, a.nextDue(start, i)) {
			break
		}
		if a.isStopped() || !r.acquire(actx) {
			break
		}
		wait, mine := prev, make(chan struct{})
		wg.Go(func() { m.sample(i, i == n-1, wait, mine) })
		prev = mine
	}
	wg.Wait()
	for _, s := range m.samples {
		if !s.Sent.IsZero() {
			a.res.Samples = append(a.res.Samples, s)
		}
	}
}

// addrMeasure is one address's samples during measure.
type addrMeasure struct {
	r       *run
	a       *addrRun
	ctx     context.Context         // ends when the address is done
	finish  context.CancelCauseFunc // ends ctx, with why
	samples []Sample
	log     zerolog.Logger
}

// sample sends request i once the previous one is out (prev closed) and
// the spacing has passed, lets the next one go (closes mine) when it is
// sent or given up, and waits for the reply: Timeout from the moment of
// sending, or for the final request the address's final wait. It holds a
// query slot, released when it returns.
func (m *addrMeasure) sample(i int, final bool, prev <-chan struct{}, mine chan struct{}) {
	defer m.r.release()
	var once sync.Once
	passed := func() { once.Do(func() { close(mine) }) }
	defer passed()
	sctx, cancel := context.WithCancelCause(m.ctx)
	defer cancel(nil)
	sent := make(chan struct{})
	go m.replyDeadline(sctx, cancel, sent, final)
	gate := &sampleGate{r: m.r, a: m.a, i: i, ctx: sctx, prev: prev, passed: passed, sent: sent}
	resp, err := m.r.query(sctx, m.a.addr, gate)
	s := sampleFrom(resp, err)
	s.Seq = i
	m.samples[i] = s
	m.account(&m.samples[i], sctx.Err() != nil)
	if final {
		m.finish(errAddrDone)
	}
}

// replyDeadline cancels a sample's query once its wait has passed since
// the request was sent.
func (m *addrMeasure) replyDeadline(sctx context.Context, cancel context.CancelCauseFunc, sent <-chan struct{}, final bool) {
	select {
	case <-sent:
	case <-sctx.Done():
		return
	}
	wait := m.r.Timeout
	if final {
		wait = m.a.finalWait(m.r.Config)
	}
	select {
	case <-m.r.clock.After(wait):
		cancel(noReplyError{wait})
	case <-sctx.Done():
	}
}

// account counts a finished sample and acts on what it says: a KoD that
// stops probing ends the address, as does a request that could not even be
// sent (no route: trying again would fail the same way). cancelled says
// the sample's own wait or the address ended it.
func (m *addrMeasure) account(s *Sample, cancelled bool) {
	wasSent := m.a.record(s)
	if wasSent {
		m.r.update(func(pr *Progress) { pr.SamplesSent++ })
	}
	switch {
	case s.OK:
		m.r.update(func(pr *Progress) { pr.SamplesOK++ })
	case stopsProbing(s.KoD):
		m.log.Info().Str("kod", s.KoD).Msg("kiss-o'-death: no more requests to this address")
		m.a.stop()
		m.finish(errStopped)
	case !wasSent && m.ctx.Err() == nil && !cancelled:
		m.a.fail("cannot send: " + s.Err)
		m.finish(errFatal)
	}
	m.log.Debug().Int("seq", s.Seq).Bool("ok", s.OK).Dur("offset", s.Offset).Dur("delay", s.Delay).Str("err", s.Err).Msg("sample")
}

// sampleGate is sample i's Gate. Samples pass in order: Wait first waits
// for the previous sample to be sent (or given up), then until the spacing
// has passed since that send completed; Sent records the send and lets the
// next sample through. So two packets to one address leave at least the
// spacing apart, however late a goroutine runs.
type sampleGate struct {
	r      *run
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
		now := g.r.clock.Now()
		due := last.Add(g.a.spacing + sendGuard(g.a.spacing))
		if last.IsZero() || !now.Before(due) {
			return nil // nothing slow between here and the write
		}
		select {
		case <-g.r.clock.After(due.Sub(now)):
		case <-g.ctx.Done():
			return context.Cause(g.ctx)
		}
	}
}

func (g *sampleGate) Sent() {
	g.once.Do(func() {
		now := g.r.clock.Now()
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

// sleepUntil waits until t on the run's clock; false if ctx ended first.
func (r *run) sleepUntil(ctx context.Context, t time.Time) bool {
	return clock.Sleep(ctx, r.clock, t.Sub(r.clock.Now())) == nil
}
