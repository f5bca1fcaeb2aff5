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
// optionally, the injected pieces; their zero values use the system
// resolver, beevik/ntp over UDP and the system clock. Probe never changes
// the Prober, so one Prober serves concurrent runs.
type Prober struct {
	Config
	Resolver Resolver
	Query    QueryFunc
	// Clock schedules the requests (NTP timestamps come from the system
	// clock and the kernel, whatever it says).
	Clock    clock.Clock
	Logger   zerolog.Logger
	Progress func(Progress)
}

// RunOptions are what one Probe call needs beyond the Prober.
type RunOptions struct {
	// Skip, when set, is asked about every resolved address before it is
	// measured; a non-empty answer (the reason) leaves the address
	// unmeasured, its Result carrying the reason in Skipped. The agent
	// skips blacklisted addresses and those chronyd already measures.
	Skip func(netip.AddrPort) string
	// Log, when set, receives the run's lines instead of the Prober's
	// Logger (the agent's child logger carries the run's id).
	Log *zerolog.Logger
}

// New returns a Prober with cfg and the default resolver, query and clock.
func New(cfg Config, log zerolog.Logger) *Prober {
	return &Prober{Config: cfg, Logger: log}
}

// run is one Probe call: the Prober's pieces with the defaults filled in,
// the query slots and the progress.
type run struct {
	Config
	resolver Resolver
	query    QueryFunc
	clock    clock.Clock
	log      zerolog.Logger
	progress func(Progress)

	mu   sync.Mutex // guards prog and serialises progress calls
	prog Progress
	sem  chan struct{}
}

func (p *Prober) newRun(opt RunOptions) *run {
	r := &run{Config: p.Config, resolver: p.Resolver, query: p.Query, clock: clock.Or(p.Clock),
		log: p.Logger, progress: p.Progress, sem: make(chan struct{}, p.MaxInFlight)}
	if r.resolver == nil {
		r.resolver = net.DefaultResolver
	}
	if r.query == nil {
		r.query = NTPQuery(p.Timeout, nil)
	}
	if opt.Log != nil {
		r.log = *opt.Log
	}
	return r
}

// Probe resolves and measures targets and returns one Result per address
// (or per name that did not resolve), in target order then address order.
// It returns an error only if the configuration is invalid, or, with the
// results so far, if ctx ended before the run did.
func (p *Prober) Probe(ctx context.Context, targets []Target, opt RunOptions) ([]Result, error) {
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	r := p.newRun(opt)
	addrs, results := r.resolveAll(ctx, targets)
	addrs = skip(addrs, opt.Skip)
	r.update(func(pr *Progress) { pr.Addresses = len(addrs) })
	var wg sync.WaitGroup
	for k, a := range addrs {
		wg.Go(func() {
			r.measure(ctx, a, k)
			r.update(func(pr *Progress) { pr.AddressesDone++ })
		})
	}
	wg.Wait()
	out := make([]Result, len(results))
	for i, res := range results {
		summarize(res)
		if res.Err == "" && res.SamplesSent > 0 && res.SamplesOK == 0 && res.KoD == "" {
			res.Err = "no usable reply"
		}
		out[i] = *res
	}
	return out, ctx.Err()
}

// skip drops the addresses f names, recording why.
func skip(addrs []*addrRun, f func(netip.AddrPort) string) []*addrRun {
	if f == nil {
		return addrs
	}
	kept := addrs[:0]
	for _, a := range addrs {
		if why := f(a.addr); why != "" {
			a.res.Skipped = why
			continue
		}
		kept = append(kept, a)
	}
	return kept
}

// update changes the progress and reports it.
func (r *run) update(f func(*Progress)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.prog)
	r.prog.PeakInFlight = max(r.prog.PeakInFlight, r.prog.InFlight)
	if r.progress != nil {
		r.progress(r.prog)
	}
}

// acquire takes one of the MaxInFlight query slots.
func (r *run) acquire(ctx context.Context) bool {
	select {
	case r.sem <- struct{}{}:
		r.update(func(pr *Progress) { pr.InFlight++ })
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *run) release() {
	<-r.sem
	r.update(func(pr *Progress) { pr.InFlight-- })
}
