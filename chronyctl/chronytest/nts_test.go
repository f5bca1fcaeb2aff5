package chronytest_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// TestNTSLab starts an NTS server and a client of each release and waits
// until the client has synchronised to it over NTS (authdata shows NTS
// and cookies).
func TestNTSLab(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v})
			d := chronytest.StartNTSClient(t, srv)
			if chronytest.SyncedOverNTS(t, d, srv) {
				return
			}
			t.Fatalf("no NTS synchronisation within 20 s:\n%s\n%s\nclient log:\n%s\nserver log:\n%s",
				d.Chronyc(t, "-n", "authdata"), d.Chronyc(t, "-n", "sources"), d.Log(), srv.Log())
		})
	}
}

// TestNTSBadCertificates: a client never gets cookies from a server with
// an expired or untrusted certificate.
func TestNTSBadCertificates(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind chronytest.CertKind
		want string // in the client's log
	}{
		{"expired", chronytest.CertExpired, "The certificate chain uses expired certificate"},
		{"untrusted", chronytest.CertUntrusted, "The certificate issuer is unknown"},
	} {
		for _, v := range chronytest.Versions {
			t.Run(tc.name+"/"+string(v), func(t *testing.T) {
				t.Parallel()
				srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, Kind: tc.kind})
				d := chronytest.StartNTSClient(t, srv)
				c := d.Client(t)
				a := chronyctl.AddrFromIP(srv.Addr)
				want := tc.want
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					ad, err := c.AuthData(context.Background(), a)
					require.NoError(t, err)
					require.Equal(t, chronyctl.AuthNTS, ad.Mode)
					require.Zero(t, ad.Cookies, "cookies from a server whose certificate must fail")
					if ad.KEAttempts > 0 && strings.Contains(d.Log(), want) {
						require.Equal(t, uint32(chronyctl.NoKeyExchange), ad.LastKEAgo)
						require.True(t, ad.HasNoKeys())
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
				t.Fatalf("no failed key exchange (%q) within 10 s:\n%s\nserver:\n%s", want, d.Log(), srv.Log())
			})
		}
	}
}

// TestNTSKEOnlyAndNAK: with KEOnly the client gets keys but no NTP reply
// (chronyd moves the source to the silent address); with NAK the NTP
// server it is sent to answers NTS NAK.
func TestNTSKEOnlyAndNAK(t *testing.T) {
	for _, v := range chronytest.Versions {
		for _, nak := range []bool{false, true} {
			name := map[bool]string{false: "ke-only", true: "nak"}[nak] + "/" + string(v)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, KEOnly: !nak, NAK: nak})
				require.NotEqual(t, srv.Addr, srv.NTPAddr)
				d := chronytest.StartNTSClient(t, srv)
				c := d.Client(t)
				a := chronyctl.AddrFromIP(srv.NTPAddr)
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					srcs, err := c.SourcesParts(context.Background(), 0)
					require.NoError(t, err)
					require.Len(t, srcs, 1)
					if srcs[0].Address == a {
						require.Zero(t, srcs[0].Reach&1, "a KE-only or NAKing server's NTP reply was accepted")
						ad, err := c.AuthData(context.Background(), a)
						require.NoError(t, err)
						require.Equal(t, chronyctl.AuthNTS, ad.Mode)
						if !nak && ad.KeyLength > 0 && srcs[0].Reach == 0 {
							return
						}
						if nak && ad.NAK == 1 {
							return
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
				t.Fatalf("not seen within 10 s:\n%s\n%s\n%s", d.Chronyc(t, "-n", "authdata", "-a"), d.Chronyc(t, "-n", "sources", "-a"), d.Log())
			})
		}
	}
}

// TestNTSLocalhost: a Localhost server's certificate names only
// "localhost": a client that has it by that name synchronises over NTS
// (at 127.0.0.1 or ::1, as its resolver says), one that has it by
// address fails the certificate check.
func TestNTSLocalhost(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, Localhost: true})
			require.Equal(t, "localhost", srv.Name)
			line := fmt.Sprintf("port %d nts ntsport %d iburst minpoll -2 maxpoll -2", srv.Port, srv.NTSPort)
			byName := chronytest.Start(t, chronytest.Options{Version: v,
				Config: []string{"ntstrustedcerts " + srv.Cert.TrustFile, "server localhost " + line}})
			byAddr := chronytest.Start(t, chronytest.Options{Version: v,
				Config: []string{"ntstrustedcerts " + srv.Cert.TrustFile, "server 127.0.0.1 " + line}})
			ctx := context.Background()
			named, addressed := byName.Client(t), byAddr.Client(t)
			deadline := time.Now().Add(20 * time.Second)
			synced, refused := false, false
			for time.Now().Before(deadline) && !(synced && refused) {
				if !synced {
					srcs, err := named.SourcesParts(ctx, 0)
					require.NoError(t, err)
					require.Len(t, srcs, 1)
					if srcs[0].Address.IP.IsValid() {
						ad, err := named.AuthData(ctx, srcs[0].Address)
						require.NoError(t, err)
						synced = ad.Mode == chronyctl.AuthNTS && ad.Cookies > 0 && srcs[0].Reach != 0
					}
				}
				if !refused {
					ad, err := addressed.AuthData(ctx, chronyctl.AddrFromIP(netip.MustParseAddr("127.0.0.1")))
					require.NoError(t, err)
					require.Zero(t, ad.Cookies, "cookies for an address the certificate does not name")
					refused = ad.KEAttempts > 0 && ad.HasNoKeys() && strings.Contains(byAddr.Log(), "does not match")
				}
				time.Sleep(100 * time.Millisecond)
			}
			require.True(t, synced, "by name:\n%s\n%s", byName.Chronyc(t, "-n", "authdata", "-a"), byName.Log())
			require.True(t, refused, "by address:\n%s", byAddr.Log())
		})
	}
}
