package chronyctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// dialUDP connects to chronyd's UDP command port at addr and checks that it
// answers. chronyd answers only monitoring requests there; from hosts other
// than 127.0.0.1 and ::1 only if chrony.conf has cmdallow for them.
func dialUDP(ctx context.Context, addr string, cfg Config) (*Client, error) {
	ap, err := ParseUDPAddr(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", ap.String())
	if err != nil {
		return nil, fmt.Errorf("chronyd's UDP command port %s: %w", ap, err)
	}
	c := NewClient(conn, "udp:"+ap.String(), true, cfg)
	if _, err := c.NumSources(ctx); err != nil {
		_ = c.Close()
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("nothing listens on %s: %w", ap, err)
		case errors.Is(err, ErrNoReply):
			return nil, fmt.Errorf("no reply from %s: %w", ap, err)
		}
		return nil, fmt.Errorf("%s: %w", ap, err)
	}
	return c, nil
}
