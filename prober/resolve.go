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
func (r *run) resolveAll(ctx context.Context, targets []Target) ([]*addrRun, []*Result) {
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
			lctx, cancel := context.WithTimeout(ctx, r.Timeout)
			defer cancel()
			addrs, err := r.resolver.LookupNetIP(lctx, "ip", t.Name)
			found[i] = lookup{addrs: addrs, err: err}
		}()
	}
	wg.Wait()

	var addrs []*addrRun
	var results []*Result
	byAddr := map[netip.AddrPort]*addrRun{}
	for i, t := range targets {
		port := t.Port
		if port == 0 {
			port = r.Port
		}
		if found[i].err != nil || len(found[i].addrs) == 0 {
			msg := "name did not resolve to any address"
			if found[i].err != nil {
				msg = "resolving: " + found[i].err.Error()
			}
			results = append(results, &Result{Server: t.Name, Port: port, Err: msg, Unresolved: true})
			continue
		}
		for _, a := range found[i].addrs {
			a = a.Unmap()
			ap := netip.AddrPortFrom(a, uint16(port))
			if ar := byAddr[ap]; ar != nil {
				ar.res.Aliases = append(ar.res.Aliases, t.Name)
				ar.spacing = max(ar.spacing, t.MinSpacing)
				continue
			}
			ar := &addrRun{
				addr:    ap,
				res:     &Result{Server: t.Name, Address: a, Port: port},
				spacing: max(r.Spacing, t.MinSpacing),
			}
			byAddr[ap] = ar
			addrs = append(addrs, ar)
			results = append(results, ar.res)
		}
	}
	for _, a := range addrs {
		if !a.addr.Addr().IsLoopback() {
			a.spacing = max(a.spacing, MinPublicSpacing)
		}
	}
	return addrs, results
}
