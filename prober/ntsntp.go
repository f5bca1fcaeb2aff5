package prober

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/facebook/time/ntp/protocol"
	"github.com/facebook/time/ntp/protocol/nts/aessiv"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
	"github.com/ntp-optimizer/ntp-optimizer/internal/rxtime"
)

// ntsSession is the key exchange's outcome the NTP requests spend.
type ntsSession struct {
	aead     uint16
	c2s, s2c []byte
	cookies  [][]byte
}

// kissNTSN is the NTS NAK's kiss code (RFC 8915 §5.7), as a reference ID.
const kissNTSN = 0x4e54534e

// ntsSamples sends o.Samples authenticated requests to res.NTPServer, each
// with its own cookie, spaced as Probe spaces them, and keeps the
// authenticated replies. It fails when none was authenticated; an NTS NAK
// ends it at once.
func (p *Prober) ntsSamples(ctx context.Context, o NTSOptions, s *ntsSession, res *NTSResult) error {
	spacing := p.Spacing
	if !res.NTPServer.Addr().IsLoopback() {
		spacing = max(spacing, MinPublicSpacing)
	}
	clk := clock.Or(p.Clock)
	var last error
	for i := range o.Samples {
		if i > 0 {
			if err := clock.Sleep(ctx, clk, spacing); err != nil {
				return fmt.Errorf("%w (%v)", err, last)
			}
		}
		if len(s.cookies) == 0 {
			break
		}
		cookie := s.cookies[0]
		s.cookies = s.cookies[1:]
		smp, fresh, err := o.ntsExchange(ctx, res.NTPServer.String(), s, cookie)
		smp.Seq = i
		s.cookies = append(s.cookies, fresh...)
		res.Samples = append(res.Samples, smp)
		if errors.Is(err, ErrNTSNAK) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if err == nil && !smp.OK {
			err = fmt.Errorf("%w: an authenticated %s", ErrNTSKoD, smp.Err)
		}
		if err != nil {
			last = err
			continue
		}
		if !res.Sample.OK || smp.Delay < res.Sample.Delay {
			res.Sample = smp
			res.RootDistance = (smp.RootDelay+smp.Delay)/2 + smp.RootDispersion
		}
	}
	if !res.Sample.OK {
		return last
	}
	return nil
}

// ntsExchange sends one request with cookie and waits for its
// authenticated reply until o.NTPTimeout. Replies that do not verify
// (wrong origin, unique identifier or authenticator) are discarded, as
// chronyd does, and the wait goes on; the error then names the last.
func (o NTSOptions) ntsExchange(ctx context.Context, addr string, s *ntsSession, cookie []byte) (Sample, [][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, o.NTPTimeout)
	defer cancel()
	c, err := o.dial()(ctx, "udp", addr)
	if err != nil {
		return Sample{Err: err.Error(), NoRoute: noRoute(err)}, nil, fmt.Errorf("%w: %v", ErrNTSNoAuthReply, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	var udp *net.UDPConn
	var oob []byte
	if u, ok := c.(*net.UDPConn); ok && rxtime.Enable(u) == nil {
		udp, oob = u, make([]byte, rxtime.OOBSize)
	}

	uid := make([]byte, uniqueIDLen)
	var xmit [8]byte
	_, _ = rand.Read(uid)
	_, _ = rand.Read(xmit[:])
	req := protocol.Packet{
		Settings:   0<<6 | 4<<3 | 3, // no leap warning, NTPv4, client
		TxTimeSec:  binary.BigEndian.Uint32(xmit[0:4]),
		TxTimeFrac: binary.BigEndian.Uint32(xmit[4:8]),
	}
	b, err := buildNTSRequest(req, s.c2s, cookie, uid)
	if err != nil {
		return Sample{Err: err.Error()}, nil, fmt.Errorf("%w: building the request: %v", ErrNTSNoAuthReply, err)
	}
	t1 := time.Now()
	if _, err := c.Write(b); err != nil {
		return Sample{Err: err.Error(), NoRoute: noRoute(err)}, nil, fmt.Errorf("%w: %v", ErrNTSNoAuthReply, err)
	}
	smp := Sample{Sent: t1}
	buf := make([]byte, 2048)
	var discarded int
	var why error
	for {
		var n int
		var t4 time.Time
		if udp != nil {
			var oobn int
			n, oobn, _, _, err = udp.ReadMsgUDP(buf, oob)
			t4 = rxtime.FromOOB(oob[:oobn])
		} else {
			n, err = c.Read(buf)
			t4 = time.Now()
		}
		if err != nil {
			smp.Err = "no authenticated reply (timeout)"
			detail := "no reply"
			if discarded > 0 {
				detail = fmt.Sprintf("%d replies did not verify, the last: %v", discarded, why)
			}
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				detail += fmt.Sprintf(" (%v)", err)
			}
			return smp, nil, fmt.Errorf("%w within %s from %s: %s", ErrNTSNoAuthReply, o.NTPTimeout, addr, detail)
		}
		pkt, fresh, err := verifyNTSReply(buf[:n], s, uid, xmit[:])
		if errors.Is(err, ErrNTSNAK) {
			smp.Err = err.Error()
			return smp, nil, err
		}
		if err != nil {
			discarded, why = discarded+1, err
			if discarded >= maxForged {
				smp.Err = err.Error()
				return smp, nil, fmt.Errorf("%w: gave up after %d replies that did not verify, the last: %v", ErrNTSNoAuthReply, discarded, err)
			}
			continue
		}
		fill(&smp, pkt, t1, t4)
		return smp, fresh, nil
	}
}

// verifyNTSReply accepts an authenticated reply to the request with this
// unique identifier and transmit timestamp, or an NTS NAK for it (which
// carries the unique identifier but no authenticator, RFC 8915 §5.7).
func verifyNTSReply(b []byte, s *ntsSession, uid, xmit []byte) (*protocol.Packet, [][]byte, error) {
	if len(b) < protocol.PacketSizeBytes {
		return nil, nil, fmt.Errorf("%d octets, shorter than an NTP header", len(b))
	}
	if !bytes.Equal(b[originAt:originEnd], xmit) {
		return nil, nil, errors.New("origin timestamp does not match the request (stale or spoofed)")
	}
	if mode := b[0] & 7; mode != 4 {
		return nil, nil, fmt.Errorf("mode %d, not a server reply", mode)
	}
	var hdr protocol.Packet
	if err := hdr.UnmarshalBinary(b); err != nil {
		return nil, nil, fmt.Errorf("the extension fields do not parse: %v", err)
	}
	if hdr.Stratum == 0 && hdr.ReferenceID == kissNTSN {
		for _, ef := range hdr.ExtensionFields {
			if ef.Type == protocol.UniqueIdentifier && bytes.Equal(ef.Body, uid) {
				return nil, nil, fmt.Errorf("%w: the NTP server rejected the cookie (kiss code NTSN)", ErrNTSNAK)
			}
		}
		return nil, nil, errors.New("an NTS NAK without this request's unique identifier")
	}
	return verifyAuthenticated(&hdr, s.s2c, uid)
}

// uniqueIDLen is the unique identifier's length: RFC 8915 §5.3 asks for
// at least 32 octets, chronyd sends 32.
const uniqueIDLen = 32

// buildNTSRequest is an NTS request (RFC 8915 §5.7), as chronyd's client
// makes it (nts_ntp_client.c): the header, the unique identifier, the
// cookie, and the authenticator over all of it (AES-SIV-CMAC-256 with C2S,
// a random 16-octet nonce, an empty plaintext). chronyd's server refuses
// an authenticator without a nonce (nts_ntp_auth.c NNA_DecryptAuthEF).
func buildNTSRequest(req protocol.Packet, c2s, cookie, uid []byte) ([]byte, error) {
	siv, err := aessiv.NewAESSIV(c2s)
	if err != nil {
		return nil, err
	}
	req.ExtensionFields = []protocol.ExtensionField{{Type: protocol.UniqueIdentifier, Body: uid}, {Type: protocol.NTSCookie, Body: cookie}}
	ad, err := req.AssociatedData(2)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceLen)
	_, _ = rand.Read(nonce)
	ct, err := siv.Seal(nil, nil, ad, nonce)
	if err != nil {
		return nil, err
	}
	req.ExtensionFields = append(req.ExtensionFields, protocol.ExtensionField{Type: protocol.NTSAuthenticator, Body: authenticatorBody(nonce, ct)})
	return req.Bytes()
}

// nonceLen is chronyd's NTS_MIN_UNPADDED_NONCE_LENGTH.
const nonceLen = 16

// authenticatorBody is an authenticator's body (RFC 8915 §5.6): nonce
// length, ciphertext length, each padded to 4 octets.
func authenticatorBody(nonce, ct []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(nonce)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(ct)))
	for _, f := range [][]byte{nonce, ct} {
		b = append(b, f...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b
}

// verifyAuthenticated checks a reply as chronyd's client does
// (nts_ntp_client.c): the unique identifier echoed, an authenticator that
// is the last field and verifies with S2C over the header and every field
// before it; the fresh cookies come from its plaintext.
func verifyAuthenticated(pkt *protocol.Packet, s2c, uid []byte) (*protocol.Packet, [][]byte, error) {
	uidOK, at := false, -1
	for i, ef := range pkt.ExtensionFields {
		switch ef.Type {
		case protocol.UniqueIdentifier:
			uidOK = bytes.Equal(ef.Body, uid)
		case protocol.NTSAuthenticator:
			at = i
		}
		if at >= 0 {
			break
		}
	}
	switch {
	case !uidOK:
		return nil, nil, errors.New("the unique identifier is not the request's")
	case at < 0:
		return nil, nil, errors.New("no authenticator")
	case at != len(pkt.ExtensionFields)-1:
		return nil, nil, errors.New("fields after the authenticator")
	}
	body := pkt.ExtensionFields[at].Body
	if len(body) < 4 {
		return nil, nil, errors.New("authenticator truncated")
	}
	nl, cl := int(binary.BigEndian.Uint16(body[0:2])), int(binary.BigEndian.Uint16(body[2:4]))
	pnl := (nl + 3) &^ 3
	if 4+pnl+cl > len(body) {
		return nil, nil, errors.New("authenticator truncated")
	}
	if nl < 1 {
		return nil, nil, errors.New("authenticator without a nonce")
	}
	ad, err := pkt.AssociatedData(at)
	if err != nil {
		return nil, nil, err
	}
	siv, err := aessiv.NewAESSIV(s2c)
	if err != nil {
		return nil, nil, err
	}
	pt, err := siv.Open(nil, body[4+pnl:4+pnl+cl], ad, body[4:4+nl])
	if err != nil {
		return nil, nil, fmt.Errorf("the authenticator does not verify: %v", err)
	}
	efs, err := protocol.ParseExtensionFields(pt)
	if err != nil {
		return nil, nil, fmt.Errorf("the encrypted fields do not parse: %v", err)
	}
	var cookies [][]byte
	for _, ef := range efs {
		if ef.Type == protocol.NTSCookie {
			cookies = append(cookies, ef.Body)
		}
	}
	return pkt, cookies, nil
}

// fill sets smp from an authenticated reply: T1 and T4 are this machine's
// send and kernel receive times, T2 and T3 the server's (RFC 5905 §8).
func fill(smp *Sample, pkt *protocol.Packet, t1, t4 time.Time) {
	t2 := protocol.Unix(pkt.RxTimeSec, pkt.RxTimeFrac)
	t3 := protocol.Unix(pkt.TxTimeSec, pkt.TxTimeFrac)
	smp.Offset = (t2.Sub(t1) + t3.Sub(t4)) / 2
	smp.Delay = t4.Sub(t1) - t3.Sub(t2)
	smp.Stratum = pkt.Stratum
	smp.Leap = pkt.Settings >> 6
	smp.RootDelay = short(pkt.RootDelay)
	smp.RootDispersion = short(pkt.RootDispersion)
	smp.Precision = time.Duration(float64(time.Second) * pow2(pkt.Precision))
	var id [4]byte
	binary.BigEndian.PutUint32(id[:], pkt.ReferenceID)
	switch {
	case pkt.Stratum == 0:
		smp.KoD, smp.RefID = string(bytes.TrimRight(id[:], "\x00")), string(bytes.TrimRight(id[:], "\x00"))
		smp.Err = "kiss-o'-death " + smp.KoD
	case pkt.Stratum == 1:
		smp.RefID = string(bytes.TrimRight(id[:], "\x00"))
		smp.OK = true
	default:
		smp.RefID = fmt.Sprintf("%d.%d.%d.%d", id[0], id[1], id[2], id[3])
		smp.OK = true
	}
	if smp.OK && smp.Delay < 0 {
		smp.OK, smp.Err = false, "garbage reply: the server's time between receive and transmit exceeds the round trip"
	}
}

// short converts an NTP short format (16.16 seconds).
func short(v uint32) time.Duration {
	return time.Duration(uint64(v) * uint64(time.Second) >> 16)
}

func pow2(e int8) float64 {
	f := 1.0
	for ; e < 0; e++ {
		f /= 2
	}
	for ; e > 0; e-- {
		f *= 2
	}
	return f
}
