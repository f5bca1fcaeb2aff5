package chronylive

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// labPoll makes the lab's sources poll every 0.25 s.
const labPoll = "iburst minpoll -2 maxpoll -2"

// TestSourcesNTSFromAuthDataReal: against a real chronyd 4.3 and 4.6, a
// source added with nts at runtime (no chrony.conf line names it) is NTS
// in Sources, from chronyd's authdata; a plain source is not.
func TestSourcesNTSFromAuthDataReal(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v})
			plain := chronytest.StartServer(t, chronytest.ServerOptions{Version: v})
			d := chronytest.Start(t, chronytest.Options{Version: v, SourceDir: true,
				Config: []string{"ntstrustedcerts " + srv.Cert.TrustFile, plain.Line(labPoll + " noselect")}})
			c := d.Client(t)
			ctx := context.Background()
			r := chronyctl.NewAddSource(chronyctl.TypeServer, srv.Addr.String())
			r.Port, r.NTSPort, r.MinPoll, r.MaxPoll = uint32(srv.Port), uint32(srv.NTSPort), -2, -2
			r.Flags |= chronyctl.FlagNTS | chronyctl.FlagIBurst
			require.NoError(t, c.AddSource(ctx, r))
			if !chronytest.SyncedOverNTS(t, d, srv) {
				t.Fatalf("no NTS synchronisation within 20 s:\n%s\n%s", d.Chronyc(t, "-n", "authdata"), d.Log())
			}

			b := New(c, Config{ChronyConf: d.Conf(), SourceOptions: "iburst"}, zerolog.New(zerolog.NewTestWriter(t)))
			require.Empty(t, b.NTS, "chrony.conf names no nts server")
			require.Equal(t, NTSTrust{TrustedCerts: []string{srv.Cert.TrustFile}}, b.Trust)
			srcs, err := b.Sources(ctx)
			require.NoError(t, err)
			require.Len(t, srcs, 2)
			for _, s := range srcs {
				require.Equal(t, s.Address == srv.Addr, s.NTS, "%s", s.Address)
				if s.Measurement != nil && s.NTS {
					require.Equal(t, "nts", s.Measurement.Auth)
				}
			}
		})
	}
}

// TestApplyNTSByNameReal: against a real chronyd 4.3 and 4.6, Apply adds
// an NTS server by its name, "localhost" (its certificate holds that DNS
// name; the lab server listens on 127.0.0.1 and ::1, wherever chronyd's
// resolver sends it), replacing a plain source: chronyd selects it with
// authdata NTS and cookies, the sources file says `server localhost …
// nts`, and Sources marks it NTS.
func TestApplyNTSByNameReal(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, Localhost: true})
			plain := chronytest.StartServer(t, chronytest.ServerOptions{Version: v})
			d := chronytest.Start(t, chronytest.Options{Version: v, SourceDir: true,
				Config: []string{"ntstrustedcerts " + srv.Cert.TrustFile, plain.Line(labPoll)}})
			c := d.Client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			options := fmt.Sprintf("%s ntsport %d", labPoll, srv.NTSPort)
			b := New(c, Config{ChronyConf: d.Conf(), SourceOptions: options}, zerolog.New(zerolog.NewTestWriter(t)))
			require.NotNil(t, b.File, b.NoFile)
			before, err := b.Sources(ctx)
			require.NoError(t, err)
			require.Len(t, before, 1)

			want := daemon.Server{Name: srv.Name, Address: netip.MustParseAddr("127.0.0.1"), Port: srv.Port, NTS: true}
			res, err := b.Apply(ctx, daemon.Plan{Selected: []daemon.Server{want}, Add: []daemon.Server{want},
				Remove: before, Policy: daemon.PolicyConverge})
			require.NoError(t, err)
			require.False(t, res.RolledBack, "%s\n%s\n%s", res.Reason, d.Chronyc(t, "-n", "sources", "-a"), d.Log())

			srcs, err := c.SourcesParts(ctx, chronyctl.PartName)
			require.NoError(t, err)
			require.Len(t, srcs, 1, "the plain source is gone")
			s := srcs[0]
			require.Equal(t, "localhost", s.Name)
			require.True(t, s.Address.IP.IsLoopback(), s.Address)
			t.Logf("chronyd %s resolved localhost to %s", v, s.Address)
			require.True(t, selectable(s.State), "%c", s.State.Char())
			ad, err := c.AuthData(ctx, s.Address)
			require.NoError(t, err)
			require.Equal(t, chronyctl.AuthNTS, ad.Mode)
			require.NotZero(t, ad.Cookies)

			data, err := os.ReadFile(b.File.Path)
			require.NoError(t, err)
			require.Equal(t, sourcesFileHeader+fmt.Sprintf("server localhost port %d %s nts\n", srv.Port, options), string(data))

			got, err := b.Sources(ctx)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.True(t, got[0].NTS)

			// A second run finds it by name and adds nothing.
			res, err = b.Apply(ctx, daemon.Plan{Selected: []daemon.Server{want}, Add: []daemon.Server{want}, Policy: daemon.PolicyConverge})
			require.NoError(t, err)
			require.Empty(t, res.Added)
			srcs, err = c.SourcesParts(ctx, 0)
			require.NoError(t, err)
			require.Len(t, srcs, 1)
		})
	}
}

// TestRollbackNTSByNameReal: against a real chronyd 4.3 and 4.6 with
// `minsources 2`, replacing the plain source with the by-name NTS one
// leaves chronyd unable to select: the rollback re-adds the plain source
// and deletes the NTS one by the address chronyd resolved "localhost" to.
func TestRollbackNTSByNameReal(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			srv := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, Localhost: true})
			plain := chronytest.StartServer(t, chronytest.ServerOptions{Version: v})
			d := chronytest.Start(t, chronytest.Options{Version: v, SourceDir: true,
				Config: []string{"minsources 2", "ntstrustedcerts " + srv.Cert.TrustFile, plain.Line(labPoll)}})
			c := d.Client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			b := New(c, Config{ChronyConf: d.Conf(), SourceOptions: fmt.Sprintf("%s ntsport %d", labPoll, srv.NTSPort),
				VerifyTimeout: 3 * time.Second}, zerolog.New(zerolog.NewTestWriter(t)))
			before, err := b.Sources(ctx)
			require.NoError(t, err)
			require.Len(t, before, 1)

			want := daemon.Server{Name: srv.Name, Address: netip.MustParseAddr("127.0.0.1"), Port: srv.Port, NTS: true}
			res, err := b.Apply(ctx, daemon.Plan{Selected: []daemon.Server{want}, Add: []daemon.Server{want},
				Remove: before, Policy: daemon.PolicyConverge})
			require.NoError(t, err)
			require.True(t, res.RolledBack, "chronyd selected with minsources 2 and one source")
			require.Contains(t, res.Reason, "verification failed")

			srcs, err := c.SourcesParts(ctx, chronyctl.PartName)
			require.NoError(t, err)
			require.Len(t, srcs, 1, "%s", d.Chronyc(t, "-n", "sources", "-a"))
			require.Equal(t, chronyctl.AddrFromIP(plain.Addr), srcs[0].Address)
			_, err = os.Stat(b.File.Path)
			require.ErrorIs(t, err, os.ErrNotExist, "a rolled-back run writes no sources file")
		})
	}
}
