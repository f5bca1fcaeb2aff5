package chronyctl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// ModifySelectOpts turns selection options of the source with address a
// (IP or ID#) on (set) and off (clear), leaving the others as they are
// (REQ_MODIFY_SELECTOPTS, chronyc "selectopts ADDR +prefer -noselect").
// The change applies at chronyd's next source selection. It needs chrony
// 4.4 or later: older daemons answer 502 and the error matches
// ErrUnsupported (cached, so later calls fail without asking again).
func (c *Client) ModifySelectOpts(ctx context.Context, a Addr, set, clear SelectOptions) error {
	if a.IsUnspecified() {
		return fmt.Errorf("selectopts: %w", ErrBadAddress)
	}
	return c.modifySelectOpts(ctx, a, 0, set, clear)
}

// ModifyRefclockSelectOpts is ModifySelectOpts for the reference clock
// with the given refid.
func (c *Client) ModifyRefclockSelectOpts(ctx context.Context, refID uint32, set, clear SelectOptions) error {
	return c.modifySelectOpts(ctx, Addr{}, refID, set, clear)
}

// modifySelectOpts encodes the request. Quirk (chrony 4.4 to 4.8 and later,
// client.c and cmdmon.c): the options word uses ADD_SOURCE flag bits, but
// the mask uses chronyd's selection-option bits, which is what
// SelectOptions holds.
func (c *Client) modifySelectOpts(ctx context.Context, a Addr, refID uint32, set, clear SelectOptions) error {
	if set&clear != 0 {
		return fmt.Errorf("selectopts: %s both set and cleared", set&clear)
	}
	body := make([]byte, ipAddrLen+12)
	putIPAddr(body, a)
	binary.BigEndian.PutUint32(body[20:], refID)
	binary.BigEndian.PutUint32(body[24:], uint32(set|clear))
	binary.BigEndian.PutUint32(body[28:], set.addSourceFlags())
	if _, _, err := c.do(ctx, cmdModifySelectOpts, body, nil); err != nil {
		target := a.String()
		if a.IsUnspecified() {
			target = "refclock " + RefIDText(refID)
		}
		return fmt.Errorf("selectopts %s: %w", target, err)
	}
	return nil
}

// SupportsSelectOpts reports whether the daemon knows MODIFY_SELECTOPTS
// (chrony 4.4+). It sends a request that changes nothing (no options, for
// a refclock with refid 0, which no refclock has): a 4.4+ daemon answers
// "no such source", an older one "invalid command".
func (c *Client) SupportsSelectOpts(ctx context.Context) (bool, error) {
	err := c.modifySelectOpts(ctx, Addr{}, 0, 0, 0)
	switch {
	case err == nil, errors.Is(err, ErrNoSuchSource):
		return true, nil
	case errors.Is(err, ErrUnsupported):
		return false, nil
	}
	return false, err
}
