package chronyctl

import (
	"context"
	"errors"
	"fmt"
)

// DeleteSource removes the source with address a, an IP or an unresolved
// source's ID# (REQ_DEL_SOURCE); the port does not matter. Sources are
// deleted by address only: to delete one added by name, find its address
// in Sources (Source.Name). It fails with ErrNoSuchSource when chronyd has
// no such source.
//
// DEL_SOURCE is not idempotent: a retransmission whose first transmission
// took effect is answered "no such source". So before a retransmission and
// on that answer the source list is checked: if the source was there
// before the first transmission and is gone now, the delete succeeded.
func (c *Client) DeleteSource(ctx context.Context, a Addr) error {
	if a.IsUnspecified() {
		return fmt.Errorf("delete source: %w", ErrBadAddress)
	}
	gone, err := c.deletedCheck(ctx, a)
	if err != nil {
		return err
	}
	body := make([]byte, ipAddrLen)
	putIPAddr(body, a)
	_, retransmitted, err := c.do(ctx, cmdDelSource, body, gone)
	if retransmitted && errors.Is(err, ErrNoSuchSource) {
		done, cerr := gone(ctx)
		if cerr != nil {
			return fmt.Errorf("delete %s: %w (and checking whether an earlier transmission deleted it failed: %w)", a, err, cerr)
		}
		if done {
			c.log.Debug().Str("addr", a.String()).Msg("a retransmitted DEL_SOURCE was answered 503; the source is gone")
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", a, err)
	}
	return nil
}
