package prober

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"
	"github.com/facebook/time/ntp/protocol/nts/aessiv"
	"github.com/stretchr/testify/require"
)

// ntsReplyKind is what the fake NTS server sends for a request.
type ntsReplyKind int

const (
	replyGood       ntsReplyKind = iota
	replyWrongUID                // echoes another unique identifier
	replyBadAuth                 // authenticator sealed with the wrong key
	replyWrongOrig               // origin timestamp is not the request's
	replyNoAuth                  // no authenticator at all
	replyNAK                     // NTS NAK with the unique identifier
	replyKoDRate                 // authenticated kiss-o'-death RATE
	replyFieldAfter              // an unauthenticated field after the authenticator
)

// ntsReply answers req as an NTS server holding c2s/s2c would, spoiled as
// kind says. It checks the request's authenticator first.
func ntsReply(t testing.TB, req, c2s, s2c []byte, kind ntsReplyKind) []byte {
	var in protocol.Packet
	require.NoError(t, in.UnmarshalBinary(req))
	_, _, err := verifyAuthenticated(&in, c2s, in.ExtensionFields[0].Body)
	require.NoError(t, err, "the request's authenticator")
	uid := in.ExtensionFields[0].Body
	now := time.Now()
	sec, frac := protocol.Time(now)
	out := protocol.Packet{Settings: 0<<6 | 4<<3 | 4, Stratum: 2, Precision: -20, ReferenceID: 0x7f000001,
		OrigTimeSec: in.TxTimeSec, OrigTimeFrac: in.TxTimeFrac, RxTimeSec: sec, RxTimeFrac: frac, TxTimeSec: sec, TxTimeFrac: frac,
		RootDelay: 1 << 12, RootDispersion: 1 << 10}
	switch kind {
	case replyWrongOrig:
		out.OrigTimeSec++
	case replyWrongUID:
		uid = bytes.Repeat([]byte{1}, 32)
	case replyNAK:
		out.Stratum, out.ReferenceID = 0, kissNTSN
		out.ExtensionFields = []protocol.ExtensionField{{Type: protocol.UniqueIdentifier, Body: uid}}
		b, err := out.Bytes()
		require.NoError(t, err)
		return b
	case replyKoDRate:
		out.Stratum, out.ReferenceID = 0, 0x52415445 // RATE
	}
	out.ExtensionFields = []protocol.ExtensionField{{Type: protocol.UniqueIdentifier, Body: uid}}
	if kind != replyNoAuth {
		key := s2c
		if kind == replyBadAuth {
			key = c2s
		}
		siv, err := aessiv.NewAESSIV(key)
		require.NoError(t, err)
		ad, err := out.AssociatedData(1)
		require.NoError(t, err)
		pt, err := protocol.MarshalExtensionFields([]protocol.ExtensionField{{Type: protocol.NTSCookie, Body: bytes.Repeat([]byte{0xfc}, 100)}})
		require.NoError(t, err)
		nonce := make([]byte, nonceLen)
		_, _ = rand.Read(nonce)
		ct, err := siv.Seal(nil, pt, ad, nonce)
		require.NoError(t, err)
		out.ExtensionFields = append(out.ExtensionFields, protocol.ExtensionField{Type: protocol.NTSAuthenticator, Body: authenticatorBody(nonce, ct)})
	}
	if kind == replyFieldAfter {
		out.ExtensionFields = append(out.ExtensionFields, protocol.ExtensionField{Type: protocol.NTSCookie, Body: make([]byte, 100)})
	}
	b, err := out.Bytes()
	require.NoError(t, err)
	return b
}

// fakeNTSServer answers each request on loopback with one datagram per
// kind, in order.
func fakeNTSServer(t *testing.T, c2s, s2c []byte, kinds ...ntsReplyKind) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, k := range kinds {
				_, _ = pc.WriteTo(ntsReply(t, buf[:n], c2s, s2c, k), from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// TestNTSExchange: only a reply with the request's origin and unique
// identifier and a verifying authenticator counts; the others are
// discarded and the wait goes on; a NAK ends it.
func TestNTSExchange(t *testing.T) {
	c2s, s2c := bytes.Repeat([]byte{0xc2}, 32), bytes.Repeat([]byte{0x2c}, 32)
	for _, tc := range []struct {
		name   string
		kinds  []ntsReplyKind
		want   error  // nil: an OK sample
		detail string // in the error
	}{
		{"good", []ntsReplyKind{replyGood}, nil, ""},
		{"spoiled then good", []ntsReplyKind{replyWrongOrig, replyWrongUID, replyBadAuth, replyNoAuth, replyFieldAfter, replyGood}, nil, ""},
		{"wrong unique identifier", []ntsReplyKind{replyWrongUID}, ErrNTSNoAuthReply, "unique identifier"},
		{"bad authenticator", []ntsReplyKind{replyBadAuth}, ErrNTSNoAuthReply, "does not verify"},
		{"no authenticator", []ntsReplyKind{replyNoAuth}, ErrNTSNoAuthReply, "no authenticator"},
		{"field after the authenticator", []ntsReplyKind{replyFieldAfter}, ErrNTSNoAuthReply, "after the authenticator"},
		{"wrong origin", []ntsReplyKind{replyWrongOrig}, ErrNTSNoAuthReply, "origin"},
		{"nak", []ntsReplyKind{replyNAK}, ErrNTSNAK, "NTSN"},
		{"silent", nil, ErrNTSNoAuthReply, "no reply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeNTSServer(t, c2s, s2c, tc.kinds...)
			o := NTSOptions{NTPTimeout: 300 * time.Millisecond}
			s := &ntsSession{aead: 15, c2s: c2s, s2c: s2c}
			smp, fresh, err := o.ntsExchange(context.Background(), addr, s, bytes.Repeat([]byte{0xcc}, 100))
			if tc.want == nil {
				require.NoError(t, err)
				require.True(t, smp.OK, smp.Err)
				require.Len(t, fresh, 1, "the cookie in the encrypted fields")
				require.InDelta(t, 0, smp.Offset.Seconds(), 0.005)
				require.Equal(t, uint8(2), smp.Stratum)
				require.Equal(t, "127.0.0.1", smp.RefID)
				require.Equal(t, 62500*time.Microsecond, smp.RootDelay)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.detail)
			require.True(t, strings.HasPrefix(err.Error(), tc.want.Error()), err.Error())
			require.False(t, smp.OK)
		})
	}
	t.Run("authenticated kod", func(t *testing.T) {
		addr := fakeNTSServer(t, c2s, s2c, replyKoDRate)
		var p Prober
		p.Config = DefaultConfig()
		res := NTSResult{}
		res.NTPServer = mustAddrPort(t, addr)
		err := p.ntsSamples(context.Background(), NTSOptions{NTPTimeout: 300 * time.Millisecond, Samples: 1},
			&ntsSession{aead: 15, c2s: c2s, s2c: s2c, cookies: [][]byte{make([]byte, 100)}}, &res)
		require.ErrorIs(t, err, ErrNTSKoD)
		require.Contains(t, err.Error(), "RATE")
	})
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	ap, err := netip.ParseAddrPort(s)
	require.NoError(t, err)
	return ap
}

// FuzzNTSReply feeds datagrams to the reply check of a request: it never
// panics, and it accepts only a reply that echoes the unique identifier
// and carries a verifying authenticator.
func FuzzNTSReply(f *testing.F) {
	c2s, s2c := bytes.Repeat([]byte{0xc2}, 32), bytes.Repeat([]byte{0x2c}, 32)
	uid := bytes.Repeat([]byte{0x11}, 32)
	xmit := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	req := protocol.Packet{Settings: 0x23, TxTimeSec: 0x01020304, TxTimeFrac: 0x05060708}
	b, err := buildNTSRequest(req, c2s, make([]byte, 100), uid)
	require.NoError(f, err)
	for _, k := range []ntsReplyKind{replyGood, replyWrongUID, replyBadAuth, replyNoAuth, replyNAK, replyKoDRate, replyFieldAfter} {
		f.Add(ntsReply(f, b, c2s, s2c, k))
	}
	s := &ntsSession{aead: 15, c2s: c2s, s2c: s2c}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkt, _, err := verifyNTSReply(b, s, uid, xmit)
		if err != nil {
			return
		}
		require.NotNil(t, pkt)
		var sawUID bool
		for _, ef := range pkt.ExtensionFields {
			sawUID = sawUID || ef.Type == protocol.UniqueIdentifier && bytes.Equal(ef.Body, uid)
		}
		require.True(t, sawUID)
		require.Equal(t, protocol.NTSAuthenticator, pkt.ExtensionFields[len(pkt.ExtensionFields)-1].Type)
	})
}
