package prober

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/beevik/ntp"
)

// Gate is how a query tells the prober about its one transmission.
type Gate interface {
	// Wait blocks until the request may be sent and must be called right
	// before transmitting; on an error the query must not transmit.
	Wait() error
	// Sent must be called right after the request was handed to the
	// network. The next request to the address is timed from here.
	Sent()
}

// QueryFunc sends one NTP request to addr, through gate, and waits for the
// reply until ctx ends.
type QueryFunc func(ctx context.Context, addr netip.AddrPort, gate Gate) (*ntp.Response, error)

// DialFunc opens the connection a query uses.
type DialFunc func(ctx context.Context, address string) (net.Conn, error)

func dialUDP(ctx context.Context, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "udp", address)
}

// NTPQuery returns a QueryFunc that measures with beevik/ntp over
// connections from dial (nil: UDP sockets).
//
// beevik/ntp knows only a timeout: it is maxTimeout or the time left until
// ctx's deadline, whichever is shorter, and the connection is closed as
// soon as ctx ends, so a query never outlives its context. The connection
// is wrapped (see gatedConn) so that the gate sees the write itself and the
// receive time is the kernel's timestamp.
func NTPQuery(maxTimeout time.Duration, dial DialFunc) QueryFunc {
	if dial == nil {
		dial = dialUDP
	}
	return func(ctx context.Context, addr netip.AddrPort, gate Gate) (r *ntp.Response, err error) {
		// A reply must never crash the prober, whatever beevik/ntp makes
		// of it.
		defer func() {
			if v := recover(); v != nil {
				r, err = nil, fmt.Errorf("garbage reply: the NTP library failed on it: %v", v)
			}
		}()
		timeout := maxTimeout
		if dl, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(dl))
		}
		if err := ctx.Err(); err != nil || timeout <= 0 {
			return nil, context.Cause(ctx)
		}
		var gc *gatedConn
		var stop func() bool
		opt := ntp.QueryOptions{
			Timeout:    timeout,
			Extensions: []ntp.Extension{gateHook{gate}},
			Dialer: func(_, remote string) (net.Conn, error) {
				c, err := dial(ctx, remote)
				if err != nil {
					return nil, err
				}
				gc = newGatedConn(c, gate)
				stop = context.AfterFunc(ctx, func() { _ = c.Close() })
				return gc, nil
			},
			GetSystemTime: func() time.Time {
				if gc == nil {
					return time.Now()
				}
				return gc.now()
			},
		}
		r, err = ntp.QueryWithOptions(addr.String(), opt)
		if stop != nil {
			stop()
		}
		if err != nil && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return r, err
	}
}
