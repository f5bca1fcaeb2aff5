package chronyctl_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// testKey is the symmetric key the authdata fixtures' SK source uses
// (chrony.keys format: ID TYPE HEX:KEY; SHA1, 160 bits).
const testKey = "1 SHA1 HEX:6e74702d6f7074696d697a65722d74657374"

// authLab starts, for release v, an NTS server, a plain server and a
// server with symmetric key 1, and a client chronyd with sources of every
// kind authdata reports: the NTS server (synchronised), an NTS source whose
// key exchange is refused (nothing listens on its NTS-KE port), the key-1
// server, the plain server, an unresolved name and a refclock (which
// authdata skips). It waits until the client is synchronised to the NTS
// server, holds cookies, and the key-1 server answered.
func authLab(t *testing.T, v chronytest.Version) (d *chronytest.Daemon, nts *chronytest.NTSServer, sk, plain *chronytest.Server, refused netip.Addr) {
	t.Helper()
	nts = chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v})
	keys := filepath.Join(nts.Dir, "chrony.keys")
	require.NoError(t, os.WriteFile(keys, []byte(testKey+"\n"), 0o600))
	sk = chronytest.StartServer(t, chronytest.ServerOptions{Version: v, Config: []string{"keyfile " + keys}})
	plain = chronytest.StartServer(t, chronytest.ServerOptions{Version: v})
	refused = netip.AddrFrom4([4]byte{127, 77, 0, 13})
	lines := append(nts.ClientConfig(t, nts.Dir, "iburst minpoll -2 maxpoll -2"),
		"keyfile "+keys,
		fmt.Sprintf("server %s port 9 nts ntsport 9 iburst minpoll 10", refused),
		sk.Line("key 1 iburst minpoll -2 maxpoll -2 noselect"),
		plain.Line("iburst minpoll -2 maxpoll -2 noselect"),
		"server nonexistent.invalid iburst",
		"refclock SOCK "+filepath.Join(nts.Dir, "refclock.sock")+" refid GPS noselect",
	)
	d = chronytest.Start(t, chronytest.Options{Version: v, Config: lines})
	c := d.Client(t)
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		tr, err := c.Tracking(ctx)
		require.NoError(t, err)
		list, err := c.AuthDataList(ctx, 0)
		require.NoError(t, err)
		ready := 0
		for _, s := range list {
			switch {
			case s.Source.Address.IP == nts.Addr && s.Auth.Cookies > 0 && tr.Address.IP == nts.Addr,
				s.Source.Address.IP == sk.Addr && s.Source.Reach&1 == 1,
				s.Source.Address.IP == refused && s.Auth.KEAttempts > 0:
				ready++
			}
		}
		if ready == 3 {
			return d, nts, sk, plain, refused
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the authdata lab was not ready within 20 s:\n%s\n%s\n%s", d.Chronyc(t, "-n", "authdata", "-a"), d.Chronyc(t, "-n", "sources", "-a"), d.Log())
	return
}

// TestCaptureAuthData records chronyd's replies for authdata (N_SOURCES,
// SOURCE_DATA, NTP_SOURCE_NAME and AUTH_DATA of every source, and a 503
// AUTH_DATA) into testdata/chrony/replies-VERSION-authdata.txt.
func TestCaptureAuthData(t *testing.T) {
	needCapture(t)
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			d, nts, sk, plain, refused := authLab(t, v)
			c, rec := recordingClient(t, d.Socket)
			ctx := context.Background()
			list, err := c.AuthDataList(ctx, chronyctl.PartName)
			require.NoError(t, err)
			_, err = c.AuthData(ctx, chronyctl.AddrFromIP(netip.MustParseAddr("127.0.0.99")))
			require.ErrorIs(t, err, chronyctl.ErrNoSuchSource)
			f := &chronytest.Fixture{Comment: []string{
				fmt.Sprintf("Replies of a real chronyd %s (%s) for authdata, captured %s by TestCaptureAuthData",
					v, firstLine(d.Log()), time.Now().UTC().Format(time.DateOnly)),
				"(NTPO_CAPTURE=1 go test ./chronyctl -run TestCaptureAuthData), chronyd -x -u root -d -f CONF with:",
			}}
			conf, err := os.ReadFile(d.Conf())
			require.NoError(t, err)
			for _, l := range strings.Split(strings.TrimSpace(string(conf)), "\n") {
				f.Comment = append(f.Comment, "  "+l)
			}
			f.Comment = append(f.Comment, fmt.Sprintf("Sources: NTS server %s (chronytest.StartNTSServer, synchronised, %d NTP sources in all),", nts.Addr, len(list)),
				fmt.Sprintf("an NTS source %s whose NTS-KE port refuses, key 1 (SHA1) server %s, plain server %s,", refused, sk.Addr, plain.Addr),
				"an unresolved name, a SOCK refclock; then AUTH_DATA of 127.0.0.99 (503).")
			f.Exchanges = rec.pairs
			require.NoError(t, f.Write(filepath.Join(fixtureDir, "replies-"+string(v)+"-authdata.txt")))
		})
	}
}
