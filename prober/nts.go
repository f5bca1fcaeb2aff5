package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// The reasons a pre-flight fails. Every NTSResult.Err wraps exactly one of
// them, and its text starts with the sentinel's: callers branch with
// errors.Is, operators read the rest.
var (
	ErrNTSUnknownAuthority = errors.New("nts: certificate signed by unknown authority")
	ErrNTSCertExpired      = errors.New("nts: certificate expired")
	ErrNTSCertNotYetValid  = errors.New("nts: certificate not yet valid")
	// ErrNTSCertInvalid: not valid for the server's name or address, or
	// otherwise refused by the verification.
	ErrNTSCertInvalid = errors.New("nts: certificate invalid")
	ErrNTSKETimeout   = errors.New("nts: key exchange timed out")
	// ErrNTSKEConnect: the NTS-KE port refused the connection, or no route.
	ErrNTSKEConnect = errors.New("nts: key exchange connection failed")
	// ErrNTSTLS: the TLS handshake failed for another reason than the
	// certificate (no TLS 1.3, no ALPN ntske/1, an alert).
	ErrNTSTLS = errors.New("nts: TLS handshake failed")
	// ErrNTSKEError: the server answered with an NTS-KE Error record.
	ErrNTSKEError = errors.New("nts: key exchange error")
	// ErrNTSKEMalformed: a response chronyd's client would reject.
	ErrNTSKEMalformed     = errors.New("nts: key exchange malformed")
	ErrNTSUnsupportedAEAD = errors.New("nts: unsupported AEAD")
	ErrNTSNoCookies       = errors.New("nts: no cookies")
	// ErrNTSNAK: the NTP server answered NTS NAK (kiss code NTSN): it
	// could not use the cookie.
	ErrNTSNAK = errors.New("nts: NAK")
	// ErrNTSNoAuthReply: no reply to the authenticated requests verified
	// (none came, or only ones whose authenticator or unique identifier
	// did not check out).
	ErrNTSNoAuthReply = errors.New("nts: no authenticated reply")
	// ErrNTSKoD: an authenticated kiss-o'-death (RATE, DENY, RSTR, …) or
	// garbage in an authenticated reply.
	ErrNTSKoD = errors.New("nts: kiss-o'-death")
	// ErrNTSUnresolved: the server's name, or the NTP server the key
	// exchange named, has no address.
	ErrNTSUnresolved = errors.New("nts: unresolved")
)

// NTSTarget is one server to pre-flight, as `server NAME nts [ntsport N]`.
type NTSTarget struct {
	// Name is the server's name or address: the certificate must be valid
	// for it, and it is resolved unless Address is set.
	Name string
	// Address, when valid, is the one address the key exchange goes to.
	Address netip.Addr
	// Port is the NTS-KE port (ntsport); 0 means DefaultNTSKEPort.
	Port int
}

// NTSOptions are chronyd's trust and the pre-flight's bounds.
type NTSOptions struct {
	// TrustedCerts are chrony.conf's ntstrustedcerts files (or directories,
	// whose *.crt files count), trusted beside the system CAs.
	TrustedCerts []string
	// NoSystemCerts is chronyd's nosystemcert: only TrustedCerts count.
	NoSystemCerts bool
	// NoCertTimeCheck is chronyd's nocerttimecheck: validity times are not
	// checked (an expired certificate is accepted).
	NoCertTimeCheck bool
	// AEADs are offered in this order; nil means DefaultNTSAEADs (chronyd
	// ≥ 4.4). Only one of these that chronyd implements is accepted.
	AEADs []uint16
	// KETimeout bounds the key exchange (connect, TLS, records);
	// NTPTimeout each authenticated request's wait. 0: Config.Timeout.
	KETimeout, NTPTimeout time.Duration
	// Samples is the number of authenticated requests, 1..MaxSamples
	// (spaced as Probe spaces them); 0 means 1.
	Samples int
	// Dial opens the key exchange's TCP connection and the NTP UDP socket;
	// nil means net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Now is the time certificates are checked at; nil means time.Now.
	Now func() time.Time
}

// NTSResult is what a pre-flight found. OK means a key exchange chronyd
// would accept, then at least one authenticated reply: the source can be
// added with nts.
type NTSResult struct {
	Target NTSTarget
	// KEAddr is the address the (last) key exchange went to.
	KEAddr netip.AddrPort
	OK     bool
	// Err wraps one of the ErrNTS* reasons (or the context's error); nil
	// when OK. Reason is its text.
	Err    error
	Reason string

	// From the key exchange.
	AEAD            uint16
	CompliantExport bool
	Cookies         int // cookies received (chronyd's servers send 8)
	CookieLen       int // octets of the first cookie
	Warnings        []uint16
	// NTPServer is the negotiated NTP server (Server and Port Negotiation;
	// by default the key exchange's address, port 123), NTPServerName the
	// name the server gave, if any.
	NTPServer     netip.AddrPort
	NTPServerName string
	CertNotAfter  time.Time
	KEDuration    time.Duration

	// From the authenticated exchanges: Sample is the lowest-delay
	// authenticated one (offset = server minus this machine's clock,
	// RFC 5905 θ), Samples all of them.
	Sample  Sample
	Samples []Sample
	// RootDistance of Sample: (root delay + delay)/2 + root dispersion.
	RootDistance time.Duration
}

// PreflightNTS checks that chronyd could use t as an NTS source: one NTS-KE
// per address (the addresses in order until one connects), then
// o.Samples authenticated NTP requests to the negotiated server. It never
// fails as a call: everything is in the result (an invalid Config or
// Samples is ErrInvalidConfig there). Like Probe, it never changes the
// Prober, so one Prober serves concurrent pre-flights.
func (p *Prober) PreflightNTS(ctx context.Context, t NTSTarget, o NTSOptions) NTSResult {
	res := NTSResult{Target: t}
	fail := func(err error) NTSResult {
		res.Err, res.Reason = err, err.Error()
		return res
	}
	if err := p.Config.Validate(); err != nil {
		return fail(err)
	}
	o = o.withDefaults(p.Config)
	if o.Samples < 1 || o.Samples > MaxSamples {
		return fail(fmt.Errorf("%w: samples = %d, want 1..%d", ErrInvalidConfig, o.Samples, MaxSamples))
	}
	port := t.Port
	if port == 0 {
		port = DefaultNTSKEPort
	}
	addrs := []netip.Addr{t.Address}
	if !t.Address.IsValid() {
		var err error
		if addrs, err = p.lookup(ctx, t.Name); err != nil {
			return fail(err)
		}
	}
	var (
		ke       *keReply
		c2s, s2c []byte
		err      error
	)
	for _, a := range addrs {
		res.KEAddr = netip.AddrPortFrom(a.Unmap(), uint16(port))
		start := time.Now()
		ke, c2s, s2c, err = o.keyExchange(ctx, res.KEAddr.String(), t.Name, &res)
		res.KEDuration = time.Since(start)
		if ctx.Err() != nil {
			return fail(fmt.Errorf("%w (%v)", ctx.Err(), err))
		}
		if !errors.Is(err, ErrNTSKEConnect) && !errors.Is(err, ErrNTSKETimeout) {
			break
		}
	}
	if err != nil {
		return fail(err)
	}
	res.AEAD, res.CompliantExport, res.Cookies, res.CookieLen = ke.AEAD, ke.CompliantExport, len(ke.Cookies), len(ke.Cookies[0])
	res.Warnings, res.NTPServerName = ke.Warnings, ke.Server
	ntpAddr := res.KEAddr.Addr()
	if ke.Server != "" {
		as, err := p.lookup(ctx, ke.Server)
		if err != nil {
			return fail(fmt.Errorf("%w: the NTP server %q the key exchange named: %v", ErrNTSUnresolved, ke.Server, err))
		}
		ntpAddr = as[0]
	}
	ntpPort := uint16(DefaultPort)
	if ke.Port != 0 {
		ntpPort = ke.Port
	}
	res.NTPServer = netip.AddrPortFrom(ntpAddr.Unmap(), ntpPort)
	s := &ntsSession{aead: ke.AEAD, c2s: c2s, s2c: s2c, cookies: ke.Cookies}
	if err := p.ntsSamples(ctx, o, s, &res); err != nil {
		return fail(err)
	}
	res.OK = true
	return res
}

func (o NTSOptions) withDefaults(c Config) NTSOptions {
	if o.AEADs == nil {
		o.AEADs = DefaultNTSAEADs
	}
	if o.KETimeout <= 0 {
		o.KETimeout = c.Timeout
	}
	if o.NTPTimeout <= 0 {
		o.NTPTimeout = c.Timeout
	}
	if o.Samples == 0 {
		o.Samples = 1
	}
	return o
}

func (o NTSOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o NTSOptions) dial() func(ctx context.Context, network, address string) (net.Conn, error) {
	if o.Dial != nil {
		return o.Dial
	}
	var d net.Dialer
	return d.DialContext
}

// lookup resolves name (an IP literal is its own address).
func (p *Prober) lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(name); err == nil {
		return []netip.Addr{a}, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNTSUnresolved, name, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: %s has no address", ErrNTSUnresolved, name)
	}
	return addrs, nil
}
