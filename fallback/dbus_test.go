package fallback

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/fallback/fallbacktest"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd/systemdtest"
)

// newFakeSystemd starts a private bus with a fake systemd on it, which
// knows the NTP daemons' units (inactive), and returns the fake and the
// real client connected to it.
func newFakeSystemd(t *testing.T) (string, *systemdtest.Fake, *systemd.Conn) {
	t.Helper()
	addr := systemdtest.StartBus(t)
	fake := systemdtest.StartFake(t, addr, t.TempDir())
	for _, u := range []string{"ntpsec.service", "ntp.service", "systemd-timesyncd.service"} {
		fake.SetState(u, "inactive")
	}
	sd, err := systemd.ConnectAddress(t.Context(), addr)
	require.NoError(t, err)
	t.Cleanup(sd.Close)
	return addr, fake, sd
}

// TestSystemdOverDBus drives the real client against the fake systemd on a
// private bus.
func TestSystemdOverDBus(t *testing.T) {
	_, fake, sd := newFakeSystemd(t)

	require.NoError(t, sd.Restart(t.Context(), "ntpsec.service"))
	st, err := sd.ActiveState(t.Context(), "ntpsec.service")
	require.NoError(t, err)
	require.Equal(t, "active", st)

	st, err = sd.ActiveState(t.Context(), "no-such.service")
	require.NoError(t, err)
	require.Equal(t, "inactive", st)

	fake.OnRestart(func(string) error { return errors.New("exec failed") })
	err = sd.Restart(t.Context(), "ntpsec.service")
	require.ErrorContains(t, err, "job failed")
	require.ErrorContains(t, err, "journalctl -u ntpsec.service")
	require.Equal(t, []string{"ntpsec.service", "ntpsec.service"}, fake.Restarts())
}

// TestNTPDRestartFailsOverDBus: the daemon fails to restart (systemd job
// "failed"): the original file is restored, ntpd restarted on it, the
// backup kept.
func TestNTPDRestartFailsOverDBus(t *testing.T) {
	_, fake, sd := newFakeSystemd(t)
	root := rootWith(t, "ntpsec-debian12.conf", "/etc/ntpsec/ntp.conf")
	conf := filepath.Join(root, "/etc/ntpsec/ntp.conf")
	orig := readFile(t, conf)
	var calls atomic.Int32
	fake.OnRestart(func(string) error {
		if calls.Add(1) == 1 {
			return errors.New("ntpd: syntax error")
		}
		return nil
	})
	n := newTestNTPD(t, root, sd, &fakePeers{peers: reachable})
	c, err := n.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	res, err := n.Apply(t.Context(), c)
	require.ErrorIs(t, err, daemon.ErrRolledBack)
	require.True(t, res.RolledBack)
	require.Equal(t, orig, readFile(t, conf))
	require.Equal(t, []string{"ntpsec.service", "ntpsec.service"}, fake.Restarts())
	require.Equal(t, orig, readFile(t, res.Backups[0]))
}

type timesyncEnv struct {
	root string
	fake *fallbacktest.Timesyncd
	sd   *systemdtest.Fake
	ts   *Timesyncd
}

func newTimesyncEnv(t *testing.T, runtimeMethod bool) *timesyncEnv {
	t.Helper()
	env := &timesyncEnv{root: rootWith(t, "timesyncd-debian12.conf", "/etc/systemd/timesyncd.conf")}
	addr, fake, sdc := newFakeSystemd(t)
	env.sd = fake
	env.fake = fallbacktest.NewTimesyncd(t, addr, runtimeMethod)
	bus, err := NewTimesync1At(addr)
	require.NoError(t, err)
	t.Cleanup(func() { bus.Close() })
	env.ts, err = NewTimesyncd(TimesyncdConfig{
		Root: env.root, Services: sdc, Bus: bus,
		VerifyTimeout: 3 * time.Second, VerifyInterval: 100 * time.Millisecond,
		Log: zerolog.New(zerolog.NewTestWriter(t)),
	})
	require.NoError(t, err)
	env.fake.SetSystem(func() []string {
		l, err := env.ts.Current(t.Context())
		require.NoError(t, err)
		return l
	})
	env.sd.OnRestart(func(unit string) error {
		if unit == "systemd-timesyncd.service" {
			env.fake.Restart()
		}
		return nil
	})
	env.fake.Restart()
	return env
}

func TestTimesyncdLive(t *testing.T) {
	env := newTimesyncEnv(t, true)
	before := snapshot(t, env.root)
	c, err := env.ts.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	require.Equal(t, before, snapshot(t, env.root), "Plan touches nothing")
	require.Contains(t, c.Diff(), "+++ b"+TimesyncdDropIn)
	res, err := env.ts.Apply(t.Context(), c)
	require.NoError(t, err)
	require.True(t, res.Live)
	require.False(t, res.Restarted)
	require.True(t, res.Verified)
	require.Equal(t, selection[0].Name, res.Timesync.ServerName)
	require.Empty(t, env.sd.Restarts(), "applied live, no restart")
	cur, err := env.ts.Current(t.Context())
	require.NoError(t, err)
	require.Equal(t, serverNames(selection), cur)
	require.Equal(t, "# Managed by ntp-optimizer: the NTP servers it selected, best first.\n"+
		"# systemd-timesyncd uses one server at a time, trying them in this order.\n"+
		"# Delete this file and restart systemd-timesyncd to undo.\n"+
		"[Time]\nNTP=\nNTP=time.cloudflare.com ptbtime1.ptb.de 192.0.2.10 2001:db8::123\n",
		string(readFile(t, filepath.Join(env.root, TimesyncdDropIn))))

	again, err := env.ts.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	require.True(t, again.Empty())

	res, err = env.ts.Revert(t.Context())
	require.NoError(t, err)
	require.True(t, res.Restarted)
	after := snapshot(t, env.root)
	require.Len(t, res.Backups, 1, "the removed drop-in is backed up")
	require.Contains(t, after[res.Backups[0]], "NTP=time.cloudflare.com")
	delete(after, res.Backups[0])
	require.Equal(t, before, after)
	st, err := env.ts.cfg.Bus.Status(t.Context())
	require.NoError(t, err)
	require.Empty(t, st.RuntimeServers)
}

// TestTimesyncdRestartWithoutRuntimeMethod: before systemd 251 there is
// no SetRuntimeNTPServers; the backend restarts the unit instead.
func TestTimesyncdRestartWithoutRuntimeMethod(t *testing.T) {
	env := newTimesyncEnv(t, false)
	c, err := env.ts.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	res, err := env.ts.Apply(t.Context(), c)
	require.NoError(t, err)
	require.False(t, res.Live)
	require.True(t, res.Restarted)
	require.True(t, res.Verified)
	require.Equal(t, []string{"systemd-timesyncd.service"}, env.sd.Restarts())
	require.Equal(t, selection[0].Name, res.Timesync.ServerName)
}

// TestTimesyncdRollback: no selected server answers, so verification
// fails; the drop-in is restored (an earlier one from backup) and the
// runtime list put back.
func TestTimesyncdRollback(t *testing.T) {
	for _, runtime := range []bool{true, false} {
		t.Run(map[bool]string{true: "live", false: "restart"}[runtime], func(t *testing.T) {
			env := newTimesyncEnv(t, runtime)
			earlier := []byte("[Time]\nNTP=\nNTP=old.example.org\n")
			writeFile(t, filepath.Join(env.root, TimesyncdDropIn), earlier)
			env.fake.Restart()
			before := snapshot(t, env.root)
			env.fake.SetAnswer(func(s string) fallbacktest.Reply {
				return fallbacktest.Reply{OK: s == "old.example.org", Stratum: 2}
			})
			c, err := env.ts.Plan(selection[:2], daemon.PolicyConverge)
			require.NoError(t, err)
			res, err := env.ts.Apply(t.Context(), c)
			require.ErrorIs(t, err, daemon.ErrRolledBack)
			require.True(t, res.RolledBack)
			require.Contains(t, res.Reason, "verify")
			require.Len(t, res.Backups, 1)
			after := snapshot(t, env.root)
			require.Equal(t, string(earlier), after[filepath.Join(env.root, TimesyncdDropIn)])
			delete(after, res.Backups[0])
			require.Equal(t, before, after)
			st, err := env.ts.cfg.Bus.Status(t.Context())
			require.NoError(t, err)
			require.Equal(t, "old.example.org", st.ServerName)
			require.Empty(t, st.RuntimeServers)
		})
	}
}

// TestTimesyncdAddOnly keeps the configured servers after the selection.
func TestTimesyncdAddOnly(t *testing.T) {
	env := newTimesyncEnv(t, true)
	writeFile(t, filepath.Join(env.root, "/etc/systemd/timesyncd.conf.d/10-site.conf"), []byte("[Time]\nNTP=site.example.org\n"))
	c, err := env.ts.Plan(selection[:1], daemon.PolicyAddOnly)
	require.NoError(t, err)
	require.NotContains(t, string(c.Files[0].New), "NTP=\n")
	res, err := env.ts.Apply(t.Context(), c)
	require.NoError(t, err)
	cur, err := env.ts.Current(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"site.example.org", "time.cloudflare.com"}, cur)
	require.Equal(t, []string{"time.cloudflare.com", "site.example.org"}, res.Timesync.RuntimeServers)
}

func TestTimesyncdNoBusNoSystemd(t *testing.T) {
	root := rootWith(t, "timesyncd-debian12.conf", "/etc/systemd/timesyncd.conf")
	ts, err := NewTimesyncd(TimesyncdConfig{Root: root})
	require.NoError(t, err)
	c, err := ts.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	_, err = ts.Apply(t.Context(), c)
	require.ErrorIs(t, err, ErrNoSystemd)
	_, err = os.Stat(filepath.Join(root, TimesyncdDropIn))
	require.True(t, os.IsNotExist(err))
}
