package prober

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// ntsProber is a Prober with short timeouts for the loopback lab.
func ntsProber() *Prober {
	c := DefaultConfig()
	c.Timeout, c.Spacing, c.FinalWaitMin = 2*time.Second, 100*time.Millisecond, 500*time.Millisecond
	return New(c, zerolog.Nop())
}

// preflightLab pre-flights srv the way chronyd would use it: its address,
// its ntsport, its ntstrustedcerts.
func preflightLab(t *testing.T, srv *chronytest.NTSServer, o NTSOptions) NTSResult {
	t.Helper()
	o.TrustedCerts = append(o.TrustedCerts, srv.Cert.TrustFile)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	res := ntsProber().PreflightNTS(ctx, NTSTarget{Name: srv.Addr.String(), Port: srv.NTSPort}, o)
	t.Logf("%s: ok=%v reason=%q aead=%d cookies=%d cookie_len=%d ntp=%s ke=%s total=%s offset=%s delay=%s stratum=%d samples=%d",
		srv.Version, res.OK, res.Reason, res.AEAD, res.Cookies, res.CookieLen, res.NTPServer, res.KEDuration.Round(time.Microsecond),
		time.Since(start).Round(time.Millisecond), res.Sample.Offset, res.Sample.Delay, res.Sample.Stratum, len(res.Samples))
	return res
}

// TestPreflightNTS runs the pre-flight against real chronyd NTS servers
// of each release: a good one gives an authenticated sample, each broken
// one its reason.
func TestPreflightNTS(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Run("good", func(t *testing.T) {
				t.Parallel()
				srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v})
				res := preflightLab(t, srv, NTSOptions{Samples: 3})
				require.True(t, res.OK, res.Reason)
				require.NoError(t, res.Err)
				require.Equal(t, uint16(15), res.AEAD)
				require.Equal(t, 8, res.Cookies)
				require.Equal(t, netip.AddrPortFrom(srv.Addr, uint16(srv.Port)), res.NTPServer)
				require.Len(t, res.Samples, 3)
				for _, s := range res.Samples {
					require.True(t, s.OK, s.Err)
				}
				require.True(t, res.Sample.OK)
				require.InDelta(t, 0, res.Sample.Offset.Seconds(), 0.005, "chronyd -x keeps the system clock")
				require.Positive(t, res.Sample.Delay)
				require.Less(t, res.Sample.Delay, 50*time.Millisecond)
				require.Equal(t, uint8(2), res.Sample.Stratum) // local stratum 2
				require.Equal(t, uint8(0), res.Sample.Leap)
				require.WithinDuration(t, srv.Cert.NotAfter, res.CertNotAfter, time.Second)

				// One key exchange connection, one UDP socket per sample.
				var dials []string
				var mu sync.Mutex
				var d net.Dialer
				count := func(ctx context.Context, network, addr string) (net.Conn, error) {
					mu.Lock()
					dials = append(dials, network)
					mu.Unlock()
					return d.DialContext(ctx, network, addr)
				}
				res = preflightLab(t, srv, NTSOptions{Samples: 2, Dial: count})
				require.True(t, res.OK, res.Reason)
				require.Equal(t, []string{"tcp", "udp", "udp"}, dials)

				// The certificate names the address, not another name.
				res = ntsProber().PreflightNTS(context.Background(), NTSTarget{Name: "ntp.example.org", Address: srv.Addr, Port: srv.NTSPort},
					NTSOptions{TrustedCerts: []string{srv.Cert.TrustFile}})
				require.ErrorIs(t, res.Err, ErrNTSCertInvalid)
				require.True(t, strings.HasPrefix(res.Reason, "nts: certificate invalid"), res.Reason)
				t.Logf("other name: %s", res.Reason)
			})
			t.Run("untrusted", func(t *testing.T) {
				t.Parallel()
				srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, Kind: chronytest.CertUntrusted})
				res := preflightLab(t, srv, NTSOptions{})
				require.False(t, res.OK)
				require.ErrorIs(t, res.Err, ErrNTSUnknownAuthority)
				require.True(t, strings.HasPrefix(res.Reason, "nts: certificate signed by unknown authority"), res.Reason)
				require.Zero(t, res.Cookies)
			})
			t.Run("expired", func(t *testing.T) {
				t.Parallel()
				srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, Kind: chronytest.CertExpired})
				res := preflightLab(t, srv, NTSOptions{})
				require.False(t, res.OK)
				require.ErrorIs(t, res.Err, ErrNTSCertExpired)
				require.True(t, strings.HasPrefix(res.Reason, "nts: certificate expired"), res.Reason)
				// chronyd's nocerttimecheck accepts it.
				res = preflightLab(t, srv, NTSOptions{NoCertTimeCheck: true})
				require.True(t, res.OK, res.Reason)
				require.Equal(t, 8, res.Cookies)
			})
			t.Run("ke-only", func(t *testing.T) {
				t.Parallel()
				srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, KEOnly: true})
				res := preflightLab(t, srv, NTSOptions{NTPTimeout: 500 * time.Millisecond})
				require.False(t, res.OK)
				require.ErrorIs(t, res.Err, ErrNTSNoAuthReply)
				require.True(t, strings.HasPrefix(res.Reason, "nts: no authenticated reply"), res.Reason)
				require.Equal(t, 8, res.Cookies, "the key exchange worked")
				require.Equal(t, srv.NTPAddr, res.NTPServer.Addr(), "the negotiated server")
			})
			t.Run("nak", func(t *testing.T) {
				t.Parallel()
				srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, NAK: true})
				res := preflightLab(t, srv, NTSOptions{})
				require.False(t, res.OK)
				require.ErrorIs(t, res.Err, ErrNTSNAK)
				require.True(t, strings.HasPrefix(res.Reason, "nts: NAK"), res.Reason)
				require.Equal(t, netip.AddrPortFrom(srv.NAKServer.Addr, uint16(srv.NAKServer.Port)), res.NTPServer)
			})
		})
	}
}

// TestPreflightNTSNoServer: a closed NTS-KE port, and one that accepts but
// never answers, fail fast with their reasons and within the timeout.
func TestPreflightNTSNoServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().(*net.TCPAddr).AddrPort()
	require.NoError(t, l.Close())

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		addr netip.AddrPort
		want error
	}{
		{"closed", closed, ErrNTSKEConnect},
		{"silent", silent.Addr().(*net.TCPAddr).AddrPort(), ErrNTSKETimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := ntsProber().PreflightNTS(context.Background(), NTSTarget{Name: "127.0.0.1", Port: int(tc.addr.Port())}, NTSOptions{KETimeout: 300 * time.Millisecond})
			took := time.Since(start)
			t.Logf("%s: %q in %s", tc.name, res.Reason, took.Round(time.Millisecond))
			require.False(t, res.OK)
			require.ErrorIs(t, res.Err, tc.want)
			require.True(t, strings.HasPrefix(res.Reason, tc.want.Error()), res.Reason)
			require.Less(t, took, time.Second)
			require.Equal(t, tc.addr, res.KEAddr)
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		start := time.Now()
		res := ntsProber().PreflightNTS(ctx, NTSTarget{Name: "127.0.0.1", Port: int(silent.Addr().(*net.TCPAddr).Port)}, NTSOptions{KETimeout: 5 * time.Second})
		require.ErrorIs(t, res.Err, context.Canceled)
		require.Less(t, time.Since(start), time.Second)
	})
}

// TestPreflightNTSInvalid: a configuration out of range is reported, and
// nothing is dialled.
func TestPreflightNTSInvalid(t *testing.T) {
	dial := func(context.Context, string, string) (net.Conn, error) {
		t.Fatal("dialled")
		return nil, nil
	}
	var zero Prober
	res := zero.PreflightNTS(context.Background(), NTSTarget{Name: "127.0.0.1"}, NTSOptions{Dial: dial})
	require.ErrorIs(t, res.Err, ErrInvalidConfig)
	res = ntsProber().PreflightNTS(context.Background(), NTSTarget{Name: "127.0.0.1"}, NTSOptions{Dial: dial, Samples: MaxSamples + 1})
	require.ErrorIs(t, res.Err, ErrInvalidConfig)
	require.False(t, res.OK)
}

// keResponse builds a server's response from records.
func keResponse(recs ...keRecord) []byte {
	return marshalKE(append(recs, keRecord{Critical: true, Type: recEndOfMessage}))
}

func u16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}

var (
	recNTPv4  = keRecord{Critical: true, Type: recNextProtocol, Body: u16(0)}
	recSIV256 = keRecord{Critical: true, Type: recAEAD, Body: u16(15)}
)

func cookieRec(n int) keRecord { return keRecord{Type: recCookie, Body: bytes.Repeat([]byte{0xc0}, n)} }

// TestInterpretKE: what chronyd's client would reject is rejected with the
// reason.
func TestInterpretKE(t *testing.T) {
	eight := []keRecord{recNTPv4, recSIV256}
	for range 8 {
		eight = append(eight, cookieRec(100))
	}
	for _, tc := range []struct {
		name string
		msg  []byte
		want error // nil: accepted
	}{
		{"chronyd", keResponse(eight...), nil},
		{"server and port", keResponse(recNTPv4, recSIV256, cookieRec(100), keRecord{Type: recServer, Body: []byte("ntp.example.org")}, keRecord{Type: recPort, Body: u16(10123)}), nil},
		{"no cookies", keResponse(recNTPv4, recSIV256), ErrNTSNoCookies},
		{"nine cookies", keResponse(append(eight, cookieRec(100))...), ErrNTSKEMalformed},
		{"odd cookie", keResponse(recNTPv4, recSIV256, cookieRec(101)), ErrNTSKEMalformed},
		{"error record", keResponse(keRecord{Critical: true, Type: recError, Body: u16(1)}), ErrNTSKEError},
		{"gcm-siv", keResponse(recNTPv4, keRecord{Type: recAEAD, Body: u16(30)}, cookieRec(100)), ErrNTSUnsupportedAEAD},
		{"cmac-512", keResponse(recNTPv4, keRecord{Type: recAEAD, Body: u16(17)}, cookieRec(100)), ErrNTSUnsupportedAEAD},
		{"empty aead", keResponse(recNTPv4, keRecord{Type: recAEAD}, cookieRec(100)), ErrNTSUnsupportedAEAD},
		{"no aead", keResponse(recNTPv4, cookieRec(100)), ErrNTSUnsupportedAEAD},
		{"no next protocol", keResponse(recSIV256, cookieRec(100)), ErrNTSKEMalformed},
		{"unknown critical", keResponse(recNTPv4, recSIV256, cookieRec(100), keRecord{Critical: true, Type: 99}), ErrNTSKEMalformed},
		{"unknown non-critical", keResponse(recNTPv4, recSIV256, cookieRec(100), keRecord{Type: 99}), nil},
		{"bad server name", keResponse(recNTPv4, recSIV256, cookieRec(100), keRecord{Type: recServer, Body: []byte("a b")}), ErrNTSKEMalformed},
		{"too long", append(keResponse(eight...)[:0:0], bytes.Repeat(marshalKE([]keRecord{{Type: recWarning, Body: make([]byte, 4000)}}), 5)...), ErrNTSKEMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := readKEMessage(bytes.NewReader(tc.msg))
			if err == nil {
				_, err = interpretKE(recs, DefaultNTSAEADs)
			}
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), tc.want.Error()), err.Error())
		})
	}
}

// FuzzNTSKE feeds what a server sends back to the KE client's reading and
// checking: it never panics, and whatever it accepts is something chronyd
// takes (NTPv4, an AEAD offered and implemented, 1..8 cookies of 4..256
// octets, a multiple of 4).
func FuzzNTSKE(f *testing.F) {
	eight := []keRecord{recNTPv4, recSIV256}
	for range 8 {
		eight = append(eight, cookieRec(100))
	}
	f.Add(keResponse(eight...))
	f.Add(keResponse(recNTPv4, recSIV256, cookieRec(100), keRecord{Type: recServer, Body: []byte("127.0.0.1")}, keRecord{Type: recPort, Body: u16(123)}))
	f.Add(keResponse(keRecord{Critical: true, Type: recError, Body: u16(0)}))
	f.Add(keResponse(recNTPv4, keRecord{Type: recAEAD, Body: u16(30)}, keRecord{Type: recCompliantGCM}, cookieRec(104)))
	f.Add([]byte{0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := readKEMessage(bytes.NewReader(b))
		if err != nil {
			return
		}
		r, err := interpretKE(recs, DefaultNTSAEADs)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "nts: "), err.Error())
			return
		}
		require.Contains(t, DefaultNTSAEADs, r.AEAD)
		require.NotEmpty(t, r.Cookies)
		require.LessOrEqual(t, len(r.Cookies), maxKECookies)
		for _, c := range r.Cookies {
			require.True(t, len(c) >= 4 && len(c) <= maxKECookieLen && len(c)%4 == 0, len(c))
		}
		require.True(t, graphic([]byte(r.Server)))
	})
}
