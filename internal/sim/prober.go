package sim

import (
	"context"
	"math"
	"net/netip"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// Prober measures the world's servers as the real prober would: it
// resolves names (pools rotate), skips what the run says to skip, and
// sends Samples requests to each address, through the world's network.
type Prober struct {
	W       *World
	Samples int // 0: 4
	// Answered records the addresses that answered in the latest Probe.
	Answered map[netip.Addr]bool
}

// Probe satisfies the agent's Prober.
func (p *Prober) Probe(_ context.Context, targets []prober.Target, opt prober.RunOptions) ([]prober.Result, error) {
	n := p.Samples
	if n == 0 {
		n = 4
	}
	p.Answered = map[netip.Addr]bool{}
	var out []prober.Result
	byAddr := map[netip.Addr]int{}
	for _, t := range targets {
		addrs := []netip.Addr{}
		if a, err := netip.ParseAddr(t.Name); err == nil {
			addrs = append(addrs, a)
		} else if as, err := p.W.Resolve(t.Name); err == nil {
			addrs = as
		} else {
			out = append(out, prober.Result{Server: t.Name, Port: 123, Unresolved: true, Err: "resolving: " + err.Error()})
			continue
		}
		for _, a := range addrs {
			if i, ok := byAddr[a]; ok {
				out[i].Aliases = append(out[i].Aliases, t.Name)
				continue
			}
			byAddr[a] = len(out)
			r := prober.Result{Server: t.Name, Address: a, Port: 123}
			if opt.Skip != nil {
				r.Skipped = opt.Skip(netip.AddrPortFrom(a, 123))
			}
			if r.Skipped == "" {
				p.measure(&r, n)
			}
			out = append(out, r)
		}
	}
	// The probes take their time: n requests 2 s apart.
	p.W.Clock.Advance(time.Duration(n) * 2 * time.Second)
	return out, nil
}

func (p *Prober) measure(r *prober.Result, n int) {
	var offs []float64
	r.SamplesSent = n
	for range n {
		s := p.W.reply(r.Address, true)
		if s == nil {
			continue
		}
		if s.KoD != "" {
			if r.KoD == "" {
				r.KoD = s.KoD
			}
			continue
		}
		offs = append(offs, s.Offset+p.W.noise(s.Jitter/math.Sqrt2))
		r.Stratum, r.RefID = uint8(s.Stratum), s.RefID
		r.Delay = time.Duration(s.Delay * float64(time.Second))
		r.RootDelay = time.Duration(s.RootDelay * float64(time.Second))
		r.RootDispersion = time.Duration(s.RootDisp * float64(time.Second))
		if s.Unsync {
			r.Stratum, r.Leap, r.Unsynchronized = 16, 3, true
		}
	}
	p.W.mu.Lock()
	r.NoRoute = p.W.NetDown && p.W.NoRoute
	p.W.mu.Unlock()
	r.SamplesOK = len(offs)
	r.Reach = float64(r.SamplesOK) / float64(n)
	r.RateLimited = r.KoD == prober.KissRate
	r.Blacklist = r.KoD == prober.KissDeny || r.KoD == prober.KissRstr
	if len(offs) == 0 {
		if r.KoD == "" {
			r.Err = "no usable reply"
		}
		return
	}
	p.Answered[r.Address] = true
	r.Offset = time.Duration(offs[0] * float64(time.Second))
	var sum float64
	for _, o := range offs[1:] {
		d := o - offs[0]
		sum += d * d
	}
	if len(offs) > 1 {
		r.Jitter = time.Duration(math.Sqrt(sum/float64(len(offs)-1)) * float64(time.Second))
	}
	r.RootDistance = (r.RootDelay+r.Delay)/2 + r.RootDispersion
}
