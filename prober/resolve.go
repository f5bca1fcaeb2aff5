package prober

import (
	"context"
	"net/netip"
	"sync"
)

// resolveWorkers bounds concurrent DNS lookups.
const resolveWorkers = 16

// resolveAll resolves every target and returns the addresses to measure
// (each once, even if several names share it) and the results in output
// order, which include one result per name that did not resolve.
func (p *Prober) resolveAll(ctx context.Context, targets []Target) ([]*addrRun, []*Result) {
	type lookup struct {
		addrs []netip.Addr
		err   error
	}
	found := make([]lookup, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, resolveWorkers)
	for i, t := range targets {
		if a, err := netip.ParseAddr(t.Name); err == nil {
			found[i] = lookup{addrs: []netip.Addr{a.Unmap()}}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			lctx, cancel := context.WithTimeout(ctx, p.Timeout)
			defer cancel()
			addrs, err := p.Resolver.LookupNetIP(lctx, "ip", t.Name)
			found[i] = lookup{addrs: addrs, err: err}
		}()
	}
	wg.Wait()

	var runs []*addrRun
	var results []*Result
	byAddr := map[netip.AddrPort]*addrRun{}
	for i, t := range targets {
		port := t.Port
		if port == 0 {
			port = p.Port
		}
		if found[i].err != nil || len(found[i].addrs) == 0 {
			msg := "name did not resolve to any address"
			if found[i].err != nil {
				msg = "resolving: " + found[i].err.Error()
			}
			results = append(results, &Result{Server: t.Name, Port: port, Err: msg})
			continue
		}
		for _, a := range found[i].addrs {
			a = a.Unmap()
			ap := netip.AddrPortFrom(a, uint16(port))
			if run := byAddr[ap]; run != nil {
				run.res.Aliases = append(run.res.Aliases, t.Name)
				run.spacing = max(run.spacing, t.MinSpacing)
				continue
			}
			run := &addrRun{
				addr:    ap,
				res:     &Result{Server: t.Name, Address: a, Port: port},
				spacing: max(p.Spacing, t.MinSpacing),
			}
			byAddr[ap] = run
			runs = append(runs, run)
			results = append(results, run.res)
		}
	}
	for _, r := range runs {
		if !r.addr.Addr().IsLoopback() {
			r.spacing = max(r.spacing, MinPublicSpacing)
		}
	}
	return runs, results
}
