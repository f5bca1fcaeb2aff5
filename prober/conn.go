package prober

import (
	"bytes"
	"net"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/internal/rxtime"
)

// gatedConn wraps a query's connection for beevik/ntp:
//
//   - Write reports to the gate after the packet is handed to the kernel,
//     so the prober times the next request from the real send, not from a
//     moment that a descheduled goroutine may leave far behind (the wait at
//     the gate happens earlier, in gateHook, before beevik/ntp takes the
//     transmit time);
//   - Read keeps the kernel's receive timestamp of the datagram (on a UDP
//     socket), which now() then hands to beevik/ntp as the receive time.
//
// beevik/ntp v1.6.0 calls QueryOptions.GetSystemTime once right before
// Write (the transmit time T1) and once right after Read (the receive time
// T4), which is what now() relies on; the ntplab accuracy tests would fail
// if that changed.
type gatedConn struct {
	net.Conn
	udp  *net.UDPConn // nil for other connections (tests, fuzzing)
	oob  []byte
	gate Gate
	rx   time.Time // receive timestamp of the last datagram read, until taken
}

func newGatedConn(c net.Conn, g Gate) *gatedConn {
	gc := &gatedConn{Conn: c, gate: g}
	if u, ok := c.(*net.UDPConn); ok && rxtime.Enable(u) == nil {
		gc.udp, gc.oob = u, make([]byte, rxtime.OOBSize)
	}
	return gc
}

// now is the query's clock: the pending receive timestamp if there is one,
// otherwise the current time.
func (c *gatedConn) now() time.Time {
	if !c.rx.IsZero() {
		t := c.rx
		c.rx = time.Time{}
		return t
	}
	return time.Now()
}

func (c *gatedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err == nil {
		c.gate.Sent()
	}
	return n, err
}

func (c *gatedConn) Read(b []byte) (int, error) {
	if c.udp == nil {
		n, err := c.Conn.Read(b)
		if err == nil {
			c.rx = time.Now()
		}
		return n, err
	}
	n, oobn, _, _, err := c.udp.ReadMsgUDP(b, c.oob)
	if err == nil {
		c.rx = rxtime.FromOOB(c.oob[:oobn])
	}
	return n, err
}

// gateHook is a beevik/ntp extension that waits at the gate: ProcessQuery
// runs right before the transmit time is taken and the request written.
type gateHook struct{ g Gate }

func (h gateHook) ProcessQuery(*bytes.Buffer) error { return h.g.Wait() }
func (h gateHook) ProcessResponse([]byte) error     { return nil }
