package chronyctl_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// eventually polls cond every 50 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 600 { // 30 s: chronyd under a loaded CI machine
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// find returns the source with address a, if any.
func find(srcs []chronyctl.Source, a chronyctl.Addr) (chronyctl.Source, bool) {
	for _, s := range srcs {
		if s.Address == a {
			return s, true
		}
	}
	return chronyctl.Source{}, false
}

func sources(t *testing.T, c *chronyctl.Client) []chronyctl.Source {
	t.Helper()
	srcs, err := c.Sources(context.Background())
	require.NoError(t, err)
	return srcs
}

// TestWrites runs the write requests against real daemons of each release.
func TestWrites(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv := chronytest.StartServer(t, chronytest.ServerOptions{Version: v})
			d := chronytest.Start(t, chronytest.Options{Version: v, SourceDir: true})
			c := d.Client(t)
			a := chronyctl.AddrFromIP(srv.Addr)

			t.Run("add by address", func(t *testing.T) {
				r := chronyctl.NewAddSource(chronyctl.TypeServer, srv.Addr.String())
				r.Port, r.MinPoll, r.MaxPoll, r.Flags = uint32(srv.Port), -2, -2, r.Flags|chronyctl.FlagIBurst
				require.NoError(t, c.AddSource(ctx, r))
				eventually(t, "the added server to be reached", func() bool {
					s, ok := find(sources(t, c), a)
					return ok && s.Reach != 0 && s.Stratum == 2 && s.NTP.TotalGood > 0
				})
				require.Contains(t, d.Chronyc(t, "-n", "sources"), srv.Addr.String())
			})
			t.Run("add twice", func(t *testing.T) {
				err := c.AddSource(ctx, chronyctl.NewAddSource(chronyctl.TypePeer, srv.Addr.String()))
				require.ErrorIs(t, err, chronyctl.ErrSourceExists)
				require.ErrorContains(t, err, "511 Source already present")
			})
			t.Run("add by name", func(t *testing.T) {
				r := chronyctl.NewAddSource(chronyctl.TypeServer, "localhost")
				r.Port = 9 // nothing answers there
				require.NoError(t, c.AddSource(ctx, r))
				srcs := sources(t, c)
				var named []chronyctl.Source
				for _, s := range srcs {
					if s.Name == "localhost" {
						named = append(named, s)
					}
				}
				require.Len(t, named, 1)
				// Resolved to 127.0.0.1 or ::1, or still an ID# placeholder.
				require.True(t, named[0].Address.IsID() || named[0].Address.IP.IsLoopback(), named[0].Address)
				// chronyd may resolve the name between the listing and the
				// delete (the ID# is then gone): delete what it is now.
				err := c.DeleteSource(ctx, named[0].Address)
				for try := 0; errors.Is(err, chronyctl.ErrNoSuchSource) && named[0].Address.IsID() && try < 3; try++ {
					for _, s := range sources(t, c) {
						if s.Name == "localhost" {
							err = c.DeleteSource(ctx, s.Address)
						}
					}
				}
				require.NoError(t, err)
			})
			t.Run("invalid name is refused before sending", func(t *testing.T) {
				err := c.AddSource(ctx, chronyctl.NewAddSource(chronyctl.TypeServer, "bad name"))
				require.ErrorContains(t, err, "whitespace")
			})
			t.Run("burst", func(t *testing.T) {
				require.NoError(t, c.Burst(ctx, chronyctl.MatchAddr(a), 2, 4))
				err := c.Burst(ctx, chronyctl.MatchAddr(chronyctl.AddrFromIP(netip.MustParseAddr("192.0.2.99"))), 2, 4)
				require.ErrorIs(t, err, chronyctl.ErrNoSuchSource)
			})
			t.Run("offline and online", func(t *testing.T) {
				require.NoError(t, c.Offline(ctx, chronyctl.MatchPrefix(netip.PrefixFrom(srv.Addr, 16))))
				act, err := c.Activity(ctx)
				require.NoError(t, err)
				require.Equal(t, 1, act.Offline+act.BurstOffline, "offline, or finishing the burst before going offline")
				out := d.Chronyc(t, "-c", "activity")
				if act.BurstOffline == 0 { // stable: chronyc must read the same
					require.Equal(t, fmt.Sprintf("%d,%d,%d,%d,%d\n", act.Online, act.Offline, act.BurstOnline, act.BurstOffline, act.Unresolved), out)
				}
				require.NoError(t, c.Online(ctx, chronyctl.MatchAddr(a)))
				act, err = c.Activity(ctx)
				require.NoError(t, err)
				require.Equal(t, 0, act.Offline+act.BurstOffline)
			})
			t.Run("selectopts", func(t *testing.T) {
				ok, err := c.SupportsSelectOpts(ctx)
				require.NoError(t, err)
				err = c.ModifySelectOpts(ctx, a, chronyctl.SelectPrefer|chronyctl.SelectTrust, 0)
				if v == chronytest.V43 {
					require.False(t, ok)
					require.ErrorIs(t, err, chronyctl.ErrUnsupported)
					return
				}
				require.True(t, ok)
				require.NoError(t, err)
				s, _ := find(sources(t, c), a)
				require.Equal(t, chronyctl.SelectPrefer|chronyctl.SelectTrust, s.Select.ConfOptions)
				require.NoError(t, c.ModifySelectOpts(ctx, a, 0, chronyctl.SelectTrust))
				s, _ = find(sources(t, c), a)
				require.Equal(t, chronyctl.SelectPrefer, s.Select.ConfOptions)
			})
			t.Run("delete", func(t *testing.T) {
				require.NoError(t, c.DeleteSource(ctx, a))
				_, ok := find(sources(t, c), a)
				require.False(t, ok)
				err := c.DeleteSource(ctx, a)
				require.ErrorIs(t, err, chronyctl.ErrNoSuchSource)
			})
			t.Run("delete ID#", func(t *testing.T) {
				require.NoError(t, c.AddSource(ctx, chronyctl.NewAddSource(chronyctl.TypeServer, "nonexistent.invalid")))
				var id chronyctl.Addr
				for _, s := range sources(t, c) {
					if s.Name == "nonexistent.invalid" {
						id = s.Address
					}
				}
				require.True(t, id.IsID(), id)
				require.NoError(t, c.DeleteSource(ctx, id))
				require.ErrorIs(t, c.DeleteSource(ctx, id), chronyctl.ErrNoSuchSource)
			})
			t.Run("reload sources", func(t *testing.T) {
				file := filepath.Join(d.SourceDir, "test.sources")
				require.NoError(t, os.WriteFile(file, []byte(srv.Line("minpoll -2 maxpoll -2")+"\n"), 0o644))
				require.NoError(t, c.ReloadSources(ctx))
				_, ok := find(sources(t, c), a)
				require.True(t, ok, "the sources file's server is added")
				require.NoError(t, os.Remove(file))
				require.NoError(t, c.ReloadSources(ctx))
				_, ok = find(sources(t, c), a)
				require.False(t, ok, "and removed with the file")
			})
			t.Run("refresh", func(t *testing.T) {
				require.NoError(t, c.Refresh(ctx))
			})
			t.Run("restart drops runtime sources", func(t *testing.T) {
				r := chronyctl.NewAddSource(chronyctl.TypeServer, srv.Addr.String())
				r.Port = uint32(srv.Port)
				require.NoError(t, c.AddSource(ctx, r))
				d.Restart(t)
				c2 := d.Client(t)
				n, err := c2.NumSources(ctx)
				require.NoError(t, err)
				require.Zero(t, n)
				_, err = c.NumSources(ctx)
				require.Error(t, err, "the old client's daemon is gone")
			})
		})
	}
}

// TestNTPDataAcrossReleases reads ntpdata from 4.3 (RPY_NTP_DATA) and 4.6
// (RPY_NTP_DATA2, which chronyc 4.3 cannot read: 518).
func TestNTPDataAcrossReleases(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			srv := chronytest.StartServer(t, chronytest.ServerOptions{Version: v, Stratum: 3})
			d := chronytest.Start(t, chronytest.Options{Version: v, Config: []string{srv.Line("iburst minpoll -2 maxpoll -2")}})
			c := d.Client(t)
			a := chronyctl.AddrFromIP(srv.Addr)
			eventually(t, "ntpdata with a valid reply", func() bool {
				s, ok := find(sources(t, c), a)
				return ok && s.Has.NTPData && s.NTP.TotalValid > 0
			})
			s, _ := find(sources(t, c), a)
			require.Equal(t, uint8(3), s.NTP.Stratum)
			require.Equal(t, uint16(srv.Port), s.NTP.RemotePort)
			require.Equal(t, uint16(0x3ff), s.NTP.Tests, "all tests passed")
			if v == chronytest.V46 {
				require.Positive(t, s.NTP.TotalKernelTx+s.NTP.TotalKernelRx+s.NTP.TotalHWTx, "4.6 timestamping counters")
				out, err := exec43(d.Socket, "ntpdata")
				require.Error(t, err)
				require.Contains(t, out, "518 Packet length mismatch", "chronyc 4.3 cannot read 4.6's ntpdata")
			}
			line := d.Chronyc(t, "-c", "ntpdata", srv.Addr.String())
			require.Contains(t, line, srv.Addr.String()+",")
		})
	}
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	_, err := chronyctl.Dial(ctx, chronyctl.Config{Socket: filepath.Join(dir, "missing.sock")})
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.EqualError(t, err, "chronyd's command socket "+filepath.Join(dir, "missing.sock")+" does not exist: is chronyd running?")

	open := filepath.Join(dir, "chrony")
	require.NoError(t, os.Mkdir(open, 0o755))
	_, err = chronyctl.Dial(ctx, chronyctl.Config{Socket: filepath.Join(open, "chronyd.sock")})
	require.ErrorContains(t, err, "has mode 0755: chronyd disables its command socket")

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = chronyctl.Dial(ctx, chronyctl.Config{Socket: file})
	require.ErrorContains(t, err, "is not a socket")

	// A socket file nobody listens on (chronyd was killed).
	chronytest.Need(t, chronytest.V43)
	d := chronytest.Start(t, chronytest.Options{})
	require.NoError(t, syscall.Kill(daemonPID(t, d), syscall.SIGKILL))
	eventually(t, "chronyd to die", func() bool { return syscall.Kill(daemonPID(t, d), 0) != nil })
	_, err = chronyctl.Dial(ctx, chronyctl.Config{Socket: d.Socket})
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.ErrorContains(t, err, "nothing listens on chronyd's command socket")
	entries, err := os.ReadDir(filepath.Dir(d.Socket))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), "ntp-optimizer."), "client socket %s left behind", e.Name())
	}
}

func TestClientSocketIsRemoved(t *testing.T) {
	d := chronytest.Start(t, chronytest.Options{})
	c, err := chronyctl.Dial(context.Background(), chronyctl.Config{Socket: d.Socket})
	require.NoError(t, err)
	dir := filepath.Dir(d.Socket)
	var local string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "ntp-optimizer.") {
			local = filepath.Join(dir, e.Name())
			fi, err := os.Stat(local)
			require.NoError(t, err)
			require.Equal(t, fs.FileMode(0o666), fi.Mode().Perm())
		}
	}
	require.NotEmpty(t, local, "the client socket is bound beside chronyd's")
	require.NoError(t, c.Close())
	_, err = os.Stat(local)
	require.True(t, errors.Is(err, fs.ErrNotExist))
	_, err = c.NumSources(context.Background())
	require.ErrorIs(t, err, chronyctl.ErrClosed)
}
