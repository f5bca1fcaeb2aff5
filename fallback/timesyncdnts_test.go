package fallback

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// ntsSelection is selection with its first and third servers to use with
// NTS.
func ntsSelection() []Server {
	s := append([]Server(nil), selection...)
	s[0].NTS, s[2].NTS = true, true
	return s
}

// TestTimesyncdRefusesNTS: timesyncd has no NTS, so a selection with NTS
// servers is refused (ErrNoNTS, naming them and where they came from) and
// nothing is written; with AllowPlain (selection.authentication = off)
// they are written as plain NTP and the change says so.
func TestTimesyncdRefusesNTS(t *testing.T) {
	tests := []struct {
		name       string
		allowPlain bool
		servers    []Server
		wantErr    bool
		wantWarn   string
	}{
		{name: "refused", servers: ntsSelection(), wantErr: true},
		{name: "allowed plain", allowPlain: true, servers: ntsSelection(),
			wantWarn: "systemd-timesyncd cannot authenticate with NTS: time.cloudflare.com (catalog), " +
				"192.0.2.10 (config.toml line 7) written as plain NTP, unauthenticated (selection.authentication = off)"},
		{name: "no NTS servers", servers: selection},
		{name: "no NTS servers, allowed plain", allowPlain: true, servers: selection},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := rootWith(t, "timesyncd-debian12.conf", "/etc/systemd/timesyncd.conf")
			before := snapshot(t, root)
			ts, err := NewTimesyncd(TimesyncdConfig{Root: root, AllowPlain: tc.allowPlain})
			require.NoError(t, err)
			for _, policy := range []daemon.Policy{daemon.PolicyConverge, daemon.PolicyAddOnly} {
				c, err := ts.Plan(tc.servers, policy)
				if tc.wantErr {
					require.ErrorIs(t, err, ErrNoNTS)
					require.EqualError(t, err, "selected with NTS: time.cloudflare.com (catalog), 192.0.2.10 (config.toml line 7), "+
						"but systemd-timesyncd has no NTS: this daemon cannot authenticate with NTS; use chrony (or NTPsec), "+
						"or set selection.authentication = off to use them unauthenticated")
					require.Nil(t, c)
					continue
				}
				require.NoError(t, err)
				if tc.wantWarn == "" {
					require.Empty(t, c.Warnings)
				} else {
					require.Equal(t, []string{tc.wantWarn}, c.Warnings)
				}
				require.Len(t, c.Files, 1)
				require.Contains(t, string(c.Files[0].New),
					"NTP=time.cloudflare.com ptbtime1.ptb.de 192.0.2.10 2001:db8::123\n", "plain: timesyncd has nothing else")
			}
			require.Equal(t, before, snapshot(t, root), "Plan touches nothing")
		})
	}
}

// TestTimesyncdNTSThroughFiles: the agent's plan reaches the backend
// through Files with daemon.Server.NTS; a refusal stops Preview (a dry
// run) and Apply before anything is written, and AllowPlain's warning
// comes back in daemon.Applied.Warnings with the change applied.
func TestTimesyncdNTSThroughFiles(t *testing.T) {
	plan := daemon.Plan{Policy: daemon.PolicyConverge, Selected: []daemon.Server{
		{Address: netip.MustParseAddr("192.0.2.10"), Port: 123, Name: "nts.example.test", NTS: true},
		{Address: netip.MustParseAddr("192.0.2.11"), Port: 123, Name: "plain.example.test"},
	}}
	plan.Add = plan.Selected

	env := newTimesyncEnv(t, true)
	before := snapshot(t, env.root)
	f := &Files{Kind: DaemonTimesyncd, Backend: env.ts}
	_, err := f.Preview(plan)
	require.ErrorIs(t, err, ErrNoNTS)
	require.ErrorContains(t, err, "192.0.2.10 (nts.example.test)")
	res, err := f.Apply(t.Context(), plan)
	require.ErrorIs(t, err, ErrNoNTS)
	require.Empty(t, res.Added)
	require.Equal(t, before, snapshot(t, env.root), "nothing written")
	require.Empty(t, env.sd.Restarts())

	env.ts.cfg.AllowPlain = true
	res, err = f.Apply(t.Context(), plan)
	require.NoError(t, err)
	require.Equal(t, plan.Add, res.Added)
	require.Equal(t, []string{"systemd-timesyncd cannot authenticate with NTS: 192.0.2.10 (nts.example.test) " +
		"written as plain NTP, unauthenticated (selection.authentication = off)"}, res.Warnings)
	require.Contains(t, string(readFile(t, filepath.Join(env.root, TimesyncdDropIn))), "NTP=192.0.2.10 192.0.2.11\n")
}
