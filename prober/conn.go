package prober

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/beevik/ntp"

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
//     socket), which now() then hands to beevik/ntp as the receive time;
//   - Read discards datagrams that are not the reply to this request: their
//     origin timestamp (bytes 24..31) is not the request's transmit
//     timestamp (bytes 40..47, beevik/ntp's random value). It counts them
//     (Sample.Forged, through the gate when it is a sampleGate) and goes on
//     reading until the deadline, as chronyd does, so one forged packet
//     from an off-path sender ahead of the genuine reply does not cost the
//     sample; beevik/ntp alone would fail it with ErrServerResponseMismatch
//     on the first datagram. After maxForged of them it gives up.
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
	// origin is the request's transmit timestamp, which the reply must
	// echo in its origin timestamp; nil until a request was written.
	origin []byte
	forged int // datagrams discarded for a wrong origin
}

// The NTP header (RFC 5905 figure 8; NTPv3 and v4 alike): the origin
// timestamp of a reply and the transmit timestamp of a request.
const (
	originAt, originEnd = 24, 32
	xmitAt, xmitEnd     = 40, 48
)

// maxForged bounds the wrong-origin datagrams one request reads past:
// more than that in one sample's wait is a flood, not a stray forgery (and
// a connection without a deadline must not read forever).
const maxForged = 100

// forgedError ends a read after maxForged wrong-origin datagrams.
type forgedError struct{ n int }

func (e forgedError) Error() string {
	return fmt.Sprintf("%d datagrams in a row with a wrong origin timestamp", e.n)
}

// Unwrap makes it beevik/ntp's own error for a wrong origin.
func (e forgedError) Unwrap() error { return ntp.ErrServerResponseMismatch }

// forgeryCounter is a Gate that wants to know about each discarded
// datagram (sampleGate).
type forgeryCounter interface{ forged() }

// forged records one discarded datagram of sample g.i on the address's
// result; summarize moves the counts onto the samples.
func (g *sampleGate) forged() {
	g.a.mu.Lock()
	defer g.a.mu.Unlock()
	if g.a.res.forged == nil {
		g.a.res.forged = map[int]int{}
	}
	g.a.res.forged[g.i]++
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
	if len(b) >= xmitEnd {
		c.origin = append(c.origin[:0], b[xmitAt:xmitEnd]...)
	}
	n, err := c.Conn.Write(b)
	if err == nil {
		c.gate.Sent()
	}
	return n, err
}

// Read returns the next datagram that may be the reply to the request:
// one too short to carry an origin timestamp is passed on (beevik/ntp
// rejects it as before), one with a wrong origin is discarded and counted.
func (c *gatedConn) Read(b []byte) (int, error) {
	for {
		n, err := c.read(b)
		if err != nil || c.origin == nil || n < originEnd || bytes.Equal(b[originAt:originEnd], c.origin) {
			return n, err
		}
		c.forged++
		c.rx = time.Time{}
		if fc, ok := c.gate.(forgeryCounter); ok {
			fc.forged()
		}
		if c.forged >= maxForged {
			return 0, forgedError{c.forged}
		}
	}
}

// read reads one datagram.
func (c *gatedConn) read(b []byte) (int, error) {
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
