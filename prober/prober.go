package prober

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Resolver looks up a name's addresses; *net.Resolver satisfies it, and
// tests map names to loopback addresses with a fake.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Prober measures targets. Set Config (start from DefaultConfig) and,
// optionally, the injected pieces; the zero values of those use the system
// resolver, beevik/ntp over UDP and the real clock.
type Prober struct {
	Config
	Resolver Resolver
	Query    QueryFunc
	// Clock schedules the requests (NTP timestamps come from the system
	// clock and the kernel, whatever it says).
	Clock    clock.Clock
	Logger   zerolog.Logger
	Progress func(Progress)
	// Skip, when set, is asked about every resolved address before it is
	// measured; a non-empty answer (the reason) leaves the address
	// unmeasured, its Result carrying the reason in Skipped. The agent skips
	// blacklisted addresses and those chronyd already measures.
	Skip func(netip.AddrPort) string

	mu   sync.Mutex // guards prog and serialises Progress calls
	prog Progress
	sem  chan struct{}
}

// New returns a Prober with cfg and the default resolver, query and clock.
func New(cfg Config, log zerolog.Logger) *Prober {
	return &Prober{Config: cfg, Logger: log}
}

// Probe resolves and measures targets and returns one Result per address
// (or per name that did not resolve), in target order then address order.
// It returns an error only if the configuration is invalid, or, with the
// results so far, if ctx ended before the run did.
func (p *Prober) Probe(ctx context.Context, targets []Target) ([]Result, error) {
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	if p.Resolver == nil {
		p.Resolver = net.DefaultResolver
	}
	if p.Query == nil {
		p.Query = NTPQuery(p.Timeout, nil)
	}
	p.Clock = clock.Or(p.Clock)
	p.sem = make(chan struct{}, p.MaxInFlight)
	p.prog = Progress{}

	runs, results := p.resolveAll(ctx, targets)
	runs = p.skip(runs)
	p.update(func(pr *Progress) { pr.Addresses = len(runs) })
	var wg sync.WaitGroup
	for k, a := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.measure(ctx, a, k)
			p.update(func(pr *Progress) { pr.AddressesDone++ })
		}()
	}
	wg.Wait()
	out := make([]Result, len(results))
	for i, r := range results {
		summarize(r)
		if r.Err == "" && r.SamplesSent > 0 && r.SamplesOK == 0 && r.KoD == "" {
			r.Err = "no usable reply"
		}
		out[i] = *r
	}
	return out, ctx.Err()
}

// skip drops the addresses Skip names, recording why.
func (p *Prober) skip(runs []*addrRun) []*addrRun {
	if p.Skip == nil {
		return runs
	}
	kept := runs[:0]
	for _, a := range runs {
		if why := p.Skip(a.addr); why != "" {
			a.res.Skipped = why
			continue
		}
		kept = append(kept, a)
	}
	return kept
}

// update changes the progress and reports it.
func (p *Prober) update(f func(*Progress)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.prog)
	p.prog.PeakInFlight = max(p.prog.PeakInFlight, p.prog.InFlight)
	if p.Progress != nil {
		p.Progress(p.prog)
	}
}

// acquire takes one of the MaxInFlight query slots.
func (p *Prober) acquire(ctx context.Context) bool {
	select {
	case p.sem <- struct{}{}:
		p.update(func(pr *Progress) { pr.InFlight++ })
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *Prober) release() {
	<-p.sem
	p.update(func(pr *Progress) { pr.InFlight-- })
}
