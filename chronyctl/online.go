package chronyctl

import (
	"context"
	"encoding/binary"
	"fmt"
)

// Online marks the matching sources online (REQ_ONLINE): chronyd polls
// them again and resolves unresolved names at once. It fails with
// ErrNoSuchSource when nothing matches.
func (c *Client) Online(ctx context.Context, m Match) error {
	return c.onOffline(ctx, cmdOnline, m)
}

// Offline marks the matching sources offline (REQ_OFFLINE): chronyd stops
// polling them but keeps them. ErrNoSuchSource when nothing matches.
func (c *Client) Offline(ctx context.Context, m Match) error {
	return c.onOffline(ctx, cmdOffline, m)
}

func (c *Client) onOffline(ctx context.Context, cmd uint16, m Match) error {
	body := make([]byte, 2*ipAddrLen)
	if err := m.put(body); err != nil {
		return err
	}
	if _, _, err := c.do(ctx, cmd, body, nil); err != nil {
		return fmt.Errorf("%s %s: %w", commandName(cmd), m, err)
	}
	return nil
}

// Burst makes the matching sources take a quick burst of samples
// (REQ_BURST, chronyc "burst good/total"): chronyd stops after good good
// samples or total attempts. Only client-mode sources burst, and one
// already bursting is left alone. ErrNoSuchSource when nothing matches.
func (c *Client) Burst(ctx context.Context, m Match, good, total int) error {
	if good < 1 || total < good || total > 1000 {
		return fmt.Errorf("burst %d/%d: want 1 <= good <= total <= 1000", good, total)
	}
	body := make([]byte, 2*ipAddrLen+8)
	if err := m.put(body); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(body[40:], uint32(good))
	binary.BigEndian.PutUint32(body[44:], uint32(total))
	if _, _, err := c.do(ctx, cmdBurst, body, nil); err != nil {
		return fmt.Errorf("burst %s: %w", m, err)
	}
	return nil
}
