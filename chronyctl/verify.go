package chronyctl

import (
	"context"
	"net/netip"
)

// The checks below decide whether an earlier transmission of a request
// that is not idempotent took effect (see retryCheck). Each counts the
// matching sources once before the first transmission, so a source that
// was there (or missing) all along is not mistaken for the effect of a
// transmission whose reply was lost.

// addedCheck returns the check for ADD_SOURCE of name: are there more
// sources with that IP (an IP literal), or configured under that name (a
// hostname, which chronyd never de-duplicates), than before?
func (c *Client) addedCheck(ctx context.Context, name string) (retryCheck, error) {
	match, parts := func(s Source) bool { return s.Has.Name && s.Name == name }, PartName
	if ip, err := netip.ParseAddr(name); err == nil {
		a := AddrFromIP(ip)
		match, parts = func(s Source) bool { return s.Address == a }, 0
	}
	before, err := c.countSources(ctx, match, parts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (bool, error) {
		n, err := c.countSources(ctx, match, parts)
		return n > before, err
	}, nil
}

// deletedCheck returns the check for DEL_SOURCE of a: was it there before
// and is it gone now?
func (c *Client) deletedCheck(ctx context.Context, a Addr) (retryCheck, error) {
	match := func(s Source) bool { return s.Address == a }
	before, err := c.countSources(ctx, match, 0)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (bool, error) {
		n, err := c.countSources(ctx, match, 0)
		return before > 0 && n == 0, err
	}, nil
}

// countSources counts the sources for which match is true.
func (c *Client) countSources(ctx context.Context, match func(Source) bool, parts Parts) (int, error) {
	srcs, err := c.SourcesParts(ctx, parts)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range srcs {
		if match(s) {
			n++
		}
	}
	return n, nil
}
