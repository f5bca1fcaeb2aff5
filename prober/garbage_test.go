package prober

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// replyConn is a byte-level fake connection: Write keeps the request, Read
// returns what the reply function makes of it.
type replyConn struct {
	net.Conn // nil: methods not overridden panic, which a test would see
	req      []byte
	reply    func(req []byte) []byte
}

func (c *replyConn) Write(b []byte) (int, error) {
	c.req = append([]byte(nil), b...)
	return len(b), nil
}
func (c *replyConn) Read(b []byte) (int, error) {
	if c.req == nil {
		return 0, net.ErrClosed
	}
	return copy(b, c.reply(c.req)), nil
}
func (c *replyConn) Close() error                     { return nil }
func (c *replyConn) SetDeadline(time.Time) error      { return nil }
func (c *replyConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replyConn) SetWriteDeadline(time.Time) error { return nil }

// openGate lets every request through.
type openGate struct{ sent int }

func (g *openGate) Wait() error { return nil }
func (g *openGate) Sent()       { g.sent++ }

// ntpTS encodes t as an NTP timestamp.
func ntpTS(t time.Time) uint64 {
	return uint64(t.Unix()+2208988800)<<32 | (uint64(t.Nanosecond())<<32)/1e9
}

// goodReply answers req like a healthy stratum-2 server 1 ms away.
func goodReply(req []byte) []byte {
	now := time.Now()
	b := make([]byte, 48)
	b[0] = 0<<6 | 4<<3 | 4
	b[1], b[2], b[3] = 2, req[2], 0xec
	binary.BigEndian.PutUint32(b[12:], 0xc0000201)
	binary.BigEndian.PutUint64(b[16:], ntpTS(now.Add(-time.Minute)))
	copy(b[24:32], req[40:48])
	binary.BigEndian.PutUint64(b[32:], ntpTS(now))
	binary.BigEndian.PutUint64(b[40:], ntpTS(now))
	return b
}

// edit returns a reply function that changes a good reply.
func edit(f func(b []byte) []byte) func([]byte) []byte {
	return func(req []byte) []byte { return f(goodReply(req)) }
}

func queryWith(reply func([]byte) []byte) Sample {
	q := NTPQuery(time.Second, func(context.Context, string) (net.Conn, error) {
		return &replyConn{reply: reply}, nil
	})
	r, err := q(context.Background(), netip.MustParseAddrPort("127.0.0.1:123"), &openGate{})
	return sampleFrom(r, err)
}

func TestGarbageReplies(t *testing.T) {
	tests := []struct {
		name   string
		reply  func([]byte) []byte
		ok     bool
		kod    string
		errHas string
	}{
		{"good", goodReply, true, "", ""},
		{"empty", func([]byte) []byte { return nil }, false, "", "shorter than an NTP header"},
		{"short", edit(func(b []byte) []byte { return b[:47] }), false, "", "shorter than an NTP header"},
		{"client mode", edit(func(b []byte) []byte { b[0] = b[0]&^7 | 3; return b }), false, "", "not in server mode"},
		{"wrong origin", edit(func(b []byte) []byte { b[31] ^= 1; return b }), false, "", "origin timestamp does not match"},
		{"zero transmit", edit(func(b []byte) []byte { clear(b[40:48]); return b }), false, "", "transmit timestamp is zero"},
		{"receive after transmit", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[32:], binary.BigEndian.Uint64(b[40:])+1<<32)
			return b
		}), false, "", "receive timestamp is after transmit"},
		{"version 0", edit(func(b []byte) []byte { b[0] &^= 7 << 3; return b }), false, "", "NTP version 0"},
		{"version 7", edit(func(b []byte) []byte { b[0] |= 7 << 3; return b }), false, "", "NTP version 7"},
		{"processing longer than round trip", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[32:], binary.BigEndian.Uint64(b[40:])-10<<32)
			return b
		}), false, "", "exceeds the round trip"},
		{"kod RATE", edit(func(b []byte) []byte { b[1] = 0; copy(b[12:16], "RATE"); return b }), false, "RATE", "kiss-o'-death RATE"},
		{"stratum 0 without kiss code", edit(func(b []byte) []byte { b[0] |= 3 << 6; b[1] = 0; clear(b[12:16]); return b }), true, "", ""},
		{"precision -128 (panics beevik/ntp v1.6.0)", edit(func(b []byte) []byte { b[3] = 0x80; return b }), false, "", "precision field is -128"},
		{"poll -128", edit(func(b []byte) []byte { b[2] = 0x80; return b }), false, "", "precision field is -128"},
		{"extension fields", edit(func(b []byte) []byte { return append(b, make([]byte, 2000)...) }), true, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := queryWith(tc.reply)
			require.Equal(t, tc.ok, s.OK, "sample %+v", s)
			require.Equal(t, tc.kod, s.KoD)
			if tc.errHas == "" {
				require.Empty(t, s.Err)
			} else {
				require.Contains(t, s.Err, tc.errHas)
			}
		})
	}
}

// FuzzReply feeds anything a server could send through beevik/ntp and the
// prober's checks and summary. patch makes the origin timestamp match the
// request so the fuzzer gets past that check. A sample is either usable
// with a non-negative delay, or has a reason.
func FuzzReply(f *testing.F) {
	req := make([]byte, 48)
	req[0], req[2] = 4<<3|3, 6
	f.Add(goodReply(req), true)
	f.Add(goodReply(req)[:47], true)
	kod := goodReply(req)
	kod[1] = 0
	copy(kod[12:16], "DENY")
	f.Add(kod, true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, patch bool) {
		s := queryWith(func(req []byte) []byte {
			b := append([]byte(nil), data...)
			if patch && len(b) >= 32 {
				copy(b[24:32], req[40:48])
			}
			return b
		})
		if s.OK {
			require.Empty(t, s.Err)
			require.GreaterOrEqual(t, s.Delay, time.Duration(0))
		} else {
			require.NotEmpty(t, s.Err)
		}
		r := &Result{Samples: []Sample{s, {Seq: 1, OK: true, Sent: time.Now(), Delay: time.Millisecond}}}
		r.Samples[0].Sent = time.Now()
		summarize(r)
		require.Equal(t, 2, r.SamplesSent)
		require.GreaterOrEqual(t, r.Jitter, time.Duration(0))
		_, err := r.MarshalJSON()
		require.NoError(t, err)
	})
}
