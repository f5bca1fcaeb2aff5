package prober

import (
	"bytes"
	"errors"
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

// gateHook is a beevik/ntp extension. ProcessQuery waits at the gate: it
// runs right before the transmit time is taken and the request written.
// ProcessResponse sees the raw reply before beevik/ntp parses it and
// rejects what would crash the parser.
type gateHook struct{ g Gate }

func (h gateHook) ProcessQuery(*bytes.Buffer) error { return h.g.Wait() }

// ProcessResponse rejects a poll or precision field of -128: beevik/ntp
// v1.6.0 negates the int8 to shift by it, which overflows and panics
// (found by FuzzReply).
func (h gateHook) ProcessResponse(b []byte) error {
	if len(b) >= 4 && (b[2] == 0x80 || b[3] == 0x80) {
		return errPollPrecision
	}
	return nil
}

var errPollPrecision = errors.New("garbage reply: poll or precision field is -128")
