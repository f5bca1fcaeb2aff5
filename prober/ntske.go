package prober

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"

	"github.com/facebook/time/ntp/protocol"
)

// NTS-KE limits and constants, as chronyd has them (nts_ke.h).
const (
	// DefaultNTSKEPort is chronyd's default ntsport (RFC 8915 §4).
	DefaultNTSKEPort = 4460
	// maxKEMessage is NKE_MAX_MESSAGE_LENGTH: chronyd reads no longer
	// response.
	maxKEMessage = 16384
	// maxKECookies, maxKECookieLen are NKE_MAX_COOKIES and
	// NKE_MAX_COOKIE_LENGTH: chronyd rejects a response with more cookies,
	// or a cookie that is empty, longer or not a multiple of 4 octets.
	maxKECookies   = 8
	maxKECookieLen = 256
	// maxKEServerName is the longest Server Negotiation name chronyd takes
	// (its server_name buffer less the terminating NUL).
	maxKEServerName = 255
	// keExporterLabel is the RFC 8915 §4.3 exporter label.
	keExporterLabel = "EXPORTER-network-time-security"
)

// DefaultNTSAEADs is what the pre-flight offers: AES-SIV-CMAC-256, the
// RFC 8915 mandatory algorithm, which every chronyd with NTS offers (4.3
// offers nothing else; ≥ 4.4 offers AES-128-GCM-SIV first, conf.c
// DEFAULT_NTS_AEADS "30 15") and every NTS server must support.
// AES-128-GCM-SIV is not implemented here: facebook/time's implementation
// needs tink-go, which this module does not depend on.
var DefaultNTSAEADs = []uint16{uint16(protocol.AEADAESSIVCMAC256)}

// implementedAEADs are the AEADs the authenticated exchange can use.
var implementedAEADs = []uint16{uint16(protocol.AEADAESSIVCMAC256)}

// chronydAEADs are the AEADs chronyd implements for NTS (siv.h); another
// one negotiated is of no use to it.
var chronydAEADs = []uint16{uint16(protocol.AEADAESSIVCMAC256), uint16(protocol.AEADAES128GCMSIV)}

// NTS-KE records (RFC 8915 §4.1; nts_ke.h).
const (
	recEndOfMessage   = 0
	recNextProtocol   = 1
	recError          = 2
	recWarning        = 3
	recAEAD           = 4
	recCookie         = 5
	recServer         = 6
	recPort           = 7
	recCompliantGCM   = 1024 // chrony's NKE_RECORD_COMPLIANT_128GCM_EXPORT
	nextProtocolNTPv4 = 0
	alpnNTSKE         = "ntske/1"
	criticalBit       = 0x8000
)

// keRecord is one NTS-KE record.
type keRecord struct {
	Critical bool
	Type     uint16
	Body     []byte
}

// marshalKE encodes records.
func marshalKE(recs []keRecord) []byte {
	var b []byte
	for _, r := range recs {
		t := r.Type
		if r.Critical {
			t |= criticalBit
		}
		b = binary.BigEndian.AppendUint16(b, t)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Body)))
		b = append(b, r.Body...)
	}
	return b
}

// uint16s decodes a body of 16-bit numbers.
func uint16s(b []byte) ([]uint16, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return out, true
}

// keReply is a validated NTS-KE response.
type keReply struct {
	AEAD            uint16
	Cookies         [][]byte
	CompliantExport bool
	Server          string // Server Negotiation, "" if none
	Port            uint16 // Port Negotiation, 0 if none
	Warnings        []uint16
}

// readKEMessage reads records up to and including End of Message, at most
// maxKEMessage octets.
func readKEMessage(r io.Reader) ([]keRecord, error) {
	var recs []keRecord
	total := 0
	hdr := make([]byte, 4)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return nil, fmt.Errorf("reading a record header: %w", err)
		}
		n := int(binary.BigEndian.Uint16(hdr[2:4]))
		if total += len(hdr) + n; total > maxKEMessage {
			return nil, fmt.Errorf("%w: the response exceeds %d octets", ErrNTSKEMalformed, maxKEMessage)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("reading a record body: %w", err)
		}
		t := binary.BigEndian.Uint16(hdr[0:2])
		recs = append(recs, keRecord{Critical: t&criticalBit != 0, Type: t &^ criticalBit, Body: body})
		if t&^criticalBit == recEndOfMessage {
			return recs, nil
		}
	}
}

// interpretKE checks a response the way chronyd's NTS-KE client does
// (nts_ke_client.c process_response) against the AEADs offered.
func interpretKE(records []keRecord, offered []uint16) (*keReply, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrNTSKEMalformed, fmt.Sprintf(format, a...))
	}
	var res keReply
	nextProto, sawAEAD, sawServer, sawPort := false, false, false, false
	for _, r := range records {
		switch r.Type {
		case recEndOfMessage:
		case recNextProtocol:
			ids, ok := uint16s(r.Body)
			if !ok || len(ids) != 1 || ids[0] != nextProtocolNTPv4 {
				return nil, bad("next protocol %x, want NTPv4 (0)", r.Body)
			}
			nextProto = true
		case recError:
			code, ok := uint16s(r.Body)
			if !ok || len(code) != 1 {
				return nil, fmt.Errorf("%w: malformed error record %x", ErrNTSKEError, r.Body)
			}
			return nil, fmt.Errorf("%w %d (%s)", ErrNTSKEError, code[0], keErrorName(code[0]))
		case recWarning:
			code, ok := uint16s(r.Body)
			if ok && len(code) == 1 {
				res.Warnings = append(res.Warnings, code[0])
			}
		case recAEAD:
			ids, ok := uint16s(r.Body)
			if !ok || len(ids) > 1 {
				return nil, bad("AEAD record %x", r.Body)
			}
			if len(ids) == 0 {
				return nil, fmt.Errorf("%w: the server supports none of %v", ErrNTSUnsupportedAEAD, offered)
			}
			if !slices.Contains(offered, ids[0]) || !slices.Contains(chronydAEADs, ids[0]) || !slices.Contains(implementedAEADs, ids[0]) {
				return nil, fmt.Errorf("%w %d (offered %v; chronyd implements %v, the pre-flight %v)", ErrNTSUnsupportedAEAD, ids[0], offered, chronydAEADs, implementedAEADs)
			}
			res.AEAD, sawAEAD = ids[0], true
		case recCookie:
			if n := len(r.Body); n < 1 || n > maxKECookieLen || n%4 != 0 {
				return nil, bad("a cookie of %d octets (chronyd takes 4..%d, a multiple of 4)", n, maxKECookieLen)
			}
			if len(res.Cookies) == maxKECookies {
				return nil, bad("more than %d cookies (chronyd rejects the response)", maxKECookies)
			}
			res.Cookies = append(res.Cookies, r.Body)
		case recServer:
			if sawServer || len(r.Body) < 1 || len(r.Body) > maxKEServerName || !graphic(r.Body) {
				return nil, bad("server negotiation %q", r.Body)
			}
			res.Server, sawServer = string(r.Body), true
		case recPort:
			p, ok := uint16s(r.Body)
			if sawPort || !ok || len(p) != 1 || p[0] == 0 {
				return nil, bad("port negotiation %x", r.Body)
			}
			res.Port, sawPort = p[0], true
		case recCompliantGCM:
			res.CompliantExport = true
		default:
			if r.Critical {
				return nil, bad("unknown critical record type %d", r.Type)
			}
		}
	}
	switch {
	case !nextProto:
		return nil, bad("no next protocol record")
	case !sawAEAD:
		return nil, fmt.Errorf("%w: the server named no AEAD", ErrNTSUnsupportedAEAD)
	case len(res.Cookies) == 0:
		return nil, fmt.Errorf("%w: the key exchange succeeded but gave none", ErrNTSNoCookies)
	}
	return &res, nil
}

// keErrorName names RFC 8915 §4.1.3's error codes.
func keErrorName(code uint16) string {
	switch code {
	case 0:
		return "unrecognized critical record"
	case 1:
		return "bad request"
	case 2:
		return "internal server error"
	}
	return "unknown code"
}

// graphic is chronyd's isgraph check of a negotiated server name.
func graphic(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// writeKERequest sends what chronyd sends (nts_ke_client.c
// prepare_request): NTPv4, the AEADs, the compliant-export record when
// AES-128-GCM-SIV is offered, End of Message.
func writeKERequest(w io.Writer, aeads []uint16) error {
	body := make([]byte, 0, 2*len(aeads))
	for _, a := range aeads {
		body = binary.BigEndian.AppendUint16(body, a)
	}
	recs := []keRecord{{Critical: true, Type: recNextProtocol, Body: []byte{0, nextProtocolNTPv4}}, {Critical: true, Type: recAEAD, Body: body}}
	if slices.Contains(aeads, uint16(protocol.AEADAES128GCMSIV)) {
		recs = append(recs, keRecord{Type: recCompliantGCM})
	}
	_, err := w.Write(marshalKE(append(recs, keRecord{Critical: true, Type: recEndOfMessage})))
	return err
}

// keKeys derives C2S and S2C (RFC 8915 §4.3). As chronyd does, with
// AES-128-GCM-SIV and no compliant-export record from the server the
// exporter context names AES-SIV-CMAC-256 (older chrony servers'
// noncompliant context; nts_ke_client.c handle_message).
func keKeys(cs tls.ConnectionState, r *keReply) (c2s, s2c []byte, err error) {
	n := 32
	ctxAEAD := r.AEAD
	if r.AEAD == uint16(protocol.AEADAES128GCMSIV) {
		n = 16
		if !r.CompliantExport {
			ctxAEAD = uint16(protocol.AEADAESSIVCMAC256)
		}
	}
	ctx := []byte{0, 0, byte(ctxAEAD >> 8), byte(ctxAEAD), 0}
	if c2s, err = cs.ExportKeyingMaterial(keExporterLabel, ctx, n); err != nil {
		return nil, nil, err
	}
	ctx[4] = 1
	s2c, err = cs.ExportKeyingMaterial(keExporterLabel, ctx, n)
	return c2s, s2c, err
}

// ntsReasons are the sentinels keError passes through.
var ntsReasons = []error{ErrNTSUnknownAuthority, ErrNTSCertExpired, ErrNTSCertNotYetValid, ErrNTSCertInvalid,
	ErrNTSKEMalformed, ErrNTSKEError, ErrNTSUnsupportedAEAD, ErrNTSNoCookies, ErrNTSTLS}

// keError maps an error of the key exchange's connection: a reason is
// kept, a timeout (or ctx's deadline) is ErrNTSKETimeout, a cancellation
// stays itself, anything else is wrapped in kind.
func keError(ctx context.Context, err, kind error) error {
	for _, r := range ntsReasons {
		if errors.Is(err, r) {
			return err
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %v", ErrNTSKETimeout, err)
	case errors.Is(err, context.Canceled), ctx.Err() != nil:
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return fmt.Errorf("%w: %v", kind, err)
}

// keyExchange runs one NTS-KE on one connection to addr.
func (o NTSOptions) keyExchange(ctx context.Context, addr, serverName string, res *NTSResult) (*keReply, []byte, []byte, error) {
	var leaf *x509.Certificate
	conf, err := o.tlsConfig(serverName, o.now(), &leaf)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.KETimeout)
	defer cancel()
	raw, err := o.dial()(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, nil, keError(ctx, err, ErrNTSKEConnect)
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	c := tls.Client(raw, conf)
	err = c.HandshakeContext(ctx)
	if leaf != nil {
		res.CertNotAfter = leaf.NotAfter
	}
	if err != nil {
		return nil, nil, nil, keError(ctx, err, ErrNTSTLS)
	}
	cs := c.ConnectionState()
	if cs.NegotiatedProtocol != alpnNTSKE {
		return nil, nil, nil, fmt.Errorf("%w: the server did not agree to ALPN %s", ErrNTSTLS, alpnNTSKE)
	}
	if err := writeKERequest(c, o.AEADs); err != nil {
		return nil, nil, nil, keError(ctx, fmt.Errorf("sending the request: %w", err), ErrNTSKEMalformed)
	}
	recs, err := readKEMessage(c)
	if err != nil {
		return nil, nil, nil, keError(ctx, err, ErrNTSKEMalformed)
	}
	r, err := interpretKE(recs, o.AEADs)
	if err != nil {
		return nil, nil, nil, err
	}
	c2s, s2c, err := keKeys(cs, r)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: exporting the keys: %v", ErrNTSTLS, err)
	}
	return r, c2s, s2c, nil
}
