package chronyctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// authBy finds the entry of the list whose source matches.
func authBy(t *testing.T, list []chronyctl.SourceAuth, match func(chronyctl.Source) bool, what string) chronyctl.SourceAuth {
	t.Helper()
	for _, s := range list {
		if match(s.Source) {
			return s
		}
	}
	t.Fatalf("no %s source in %+v", what, list)
	return chronyctl.SourceAuth{}
}

// checkAuthList checks what authLab set up (see the fixture's comment):
// ntsIP is the synchronised NTS server, refused the NTS source whose key
// exchange fails, skIP the key-1 server.
func checkAuthList(t *testing.T, v chronytest.Version, list []chronyctl.SourceAuth, ntsIP, refused, skIP netip.Addr, live bool) {
	t.Helper()
	require.Len(t, list, 5, "the refclock has no authdata")
	byIP := func(ip netip.Addr) func(chronyctl.Source) bool {
		return func(s chronyctl.Source) bool { return s.Address.IP == ip }
	}
	nts := authBy(t, list, byIP(ntsIP), "NTS").Auth
	require.Equal(t, chronyctl.AuthNTS, nts.Mode)
	require.Positive(t, nts.Cookies)
	require.LessOrEqual(t, nts.Cookies, uint16(8))
	require.Zero(t, nts.NAK)
	require.Zero(t, nts.KEAttempts, "attempts are counted since the last successful exchange")
	require.Less(t, nts.LastKEAgo, uint32(60))
	require.False(t, nts.HasNoKeys())
	require.NotZero(t, nts.KeyID)
	if v == chronytest.V43 {
		require.Equal(t, chronyctl.AuthData{Mode: chronyctl.AuthNTS, KeyID: nts.KeyID, KeyType: 15, KeyLength: 256,
			LastKEAgo: nts.LastKEAgo, Cookies: nts.Cookies, CookieLength: 100}, nts, "AES-SIV-CMAC-256, 4.3's cookies")
	} else {
		require.Equal(t, chronyctl.AuthData{Mode: chronyctl.AuthNTS, KeyID: nts.KeyID, KeyType: 30, KeyLength: 128,
			LastKEAgo: nts.LastKEAgo, Cookies: nts.Cookies, CookieLength: 64}, nts, "AES-128-GCM-SIV, 4.6's cookies")
	}

	ref := authBy(t, list, byIP(refused), "refused NTS").Auth
	require.Equal(t, chronyctl.AuthNTS, ref.Mode)
	require.True(t, ref.HasNoKeys())
	require.Positive(t, ref.KEAttempts)
	require.Equal(t, chronyctl.AuthData{Mode: chronyctl.AuthNTS, LastKEAgo: chronyctl.NoKeyExchange, KEAttempts: ref.KEAttempts}, ref)

	sk := authBy(t, list, byIP(skIP), "key 1").Auth
	require.Equal(t, chronyctl.AuthData{Mode: chronyctl.AuthSymmetric, KeyID: 1, KeyType: 2, KeyLength: 144, LastKEAgo: chronyctl.NoKeyExchange}, sk,
		"SHA1 (HSH_SHA1 = 2), an 18-byte key")

	none := chronyctl.AuthData{LastKEAgo: chronyctl.NoKeyExchange}
	unresolved := authBy(t, list, func(s chronyctl.Source) bool { return s.Address.IsID() }, "unresolved")
	require.Equal(t, none, unresolved.Auth)
	if !live {
		require.Equal(t, "nonexistent.invalid", unresolved.Source.Name)
	}
	plain := 0
	for _, s := range list {
		if s.Auth.Mode == chronyctl.AuthNone {
			require.Equal(t, none, s.Auth)
			plain++
		}
	}
	require.Equal(t, 2, plain, "the plain server and the unresolved name")
}

// fixtureAddrs reads the lab's addresses back from the captured replies:
// the NTS server is the selected source, the refused one has KE attempts,
// the key-1 one is symmetric.
func fixtureAddrs(t *testing.T, list []chronyctl.SourceAuth) (nts, refused, sk netip.Addr) {
	for _, s := range list {
		switch {
		case s.Source.State == chronyctl.StateSelected:
			nts = s.Source.Address.IP
		case s.Auth.Mode == chronyctl.AuthNTS:
			refused = s.Source.Address.IP
		case s.Auth.Mode == chronyctl.AuthSymmetric:
			sk = s.Source.Address.IP
		}
	}
	require.True(t, nts.IsValid() && refused.IsValid() && sk.IsValid(), "%+v", list)
	return nts, refused, sk
}

// TestAuthDataCaptured decodes the captured authdata replies of 4.3 and
// 4.6 and checks what the capture set up.
func TestAuthDataCaptured(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			_, c := serveFixture(t, "replies-"+string(v)+"-authdata.txt")
			ctx := context.Background()
			list, err := c.AuthDataList(ctx, chronyctl.PartName)
			require.NoError(t, err)
			nts, refused, sk := fixtureAddrs(t, list)
			checkAuthList(t, v, list, nts, refused, sk, false)
			_, err = c.AuthData(ctx, chronyctl.AddrFromIP(netip.MustParseAddr("127.0.0.99")))
			require.ErrorIs(t, err, chronyctl.ErrNoSuchSource)
			require.ErrorContains(t, err, "authdata 127.0.0.99: ")
			_, err = c.AuthData(ctx, chronyctl.Addr{})
			require.ErrorIs(t, err, chronyctl.ErrBadAddress)
		})
	}
}

// TestAuthDataAgreesWithChronyc serves the captured replies to chronyc of
// the same release and compares its CSV output (chronyc -c -n authdata
// -a) with this package's decoding of the same bytes, field by field.
func TestAuthDataAgreesWithChronyc(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			chronytest.Need(t, v)
			if v == chronytest.V46 {
				t.Setenv("TMPDIR", filepath.Join(chronytest.Root46(), "tmp"))
			}
			fake, c := serveFixture(t, "replies-"+string(v)+"-authdata.txt")
			list, err := c.AuthDataList(context.Background(), 0)
			require.NoError(t, err)
			argv := append(chronycArgv(v), "-c", "-n", "-h", fake.Socket, "authdata", "-a")
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			var want []string
			for _, s := range list {
				want = append(want, csvAuthData(s))
			}
			require.Equal(t, want, nonEmpty(strings.Split(string(out), "\n")))
		})
	}
}

// csvAuthData prints s as chronyc -c -n authdata does (client.c
// process_cmd_authdata: %U and %I are plain unsigned numbers in CSV).
func csvAuthData(s chronyctl.SourceAuth) string {
	a := s.Auth
	return fmt.Sprintf("%s,%s,%d,%d,%d,%d,%d,%d,%d,%d", s.Source.Address, a.Mode.Column(), a.KeyID, a.KeyType,
		a.KeyLength, a.LastKEAgo, a.KEAttempts, a.NAK, a.Cookies, a.CookieLength)
}

// TestAuthDataRealDaemon reads authdata from real chronyd 4.3 and 4.6
// with a synchronised NTS source, a failing one, a symmetric-key one and
// plain ones, and compares the fields that cannot move between two reads
// with chronyc's CSV.
func TestAuthDataRealDaemon(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			d, nts, sk, _, refused := authLab(t, v)
			c := d.Client(t)
			list, err := c.AuthDataList(context.Background(), 0)
			require.NoError(t, err)
			checkAuthList(t, v, list, nts.Addr, refused, sk.Addr, true)
			// Static: address, mode, key type and length, cookie length.
			static := func(line string) string {
				f := strings.Split(line, ",")
				require.Len(t, f, 10, line)
				return strings.Join([]string{f[0], f[1], f[3], f[4], f[9]}, ",")
			}
			var want, got []string
			for _, s := range list {
				want = append(want, static(csvAuthData(s)))
			}
			for _, l := range nonEmpty(strings.Split(d.Chronyc(t, "-c", "-n", "authdata", "-a"), "\n")) {
				got = append(got, static(l))
			}
			require.Equal(t, want, got)
		})
	}
}

func TestAuthModeText(t *testing.T) {
	for _, tc := range []struct {
		mode         chronyctl.AuthMode
		text, column string
	}{
		{chronyctl.AuthNone, "none", "-"},
		{chronyctl.AuthSymmetric, "symmetric", "SK"},
		{chronyctl.AuthNTS, "nts", "NTS"},
		{7, "unknown(7)", "?"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			require.Equal(t, tc.text, tc.mode.String())
			require.Equal(t, tc.column, tc.mode.Column())
			b, err := json.Marshal(tc.mode)
			require.NoError(t, err)
			require.Equal(t, `"`+tc.text+`"`, string(b))
			var back chronyctl.AuthMode
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, tc.mode, back)
		})
	}
	var m chronyctl.AuthMode
	require.Error(t, json.Unmarshal([]byte(`"kerberos"`), &m))
}
