package fallback

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// planNTS plans servers over one ntp.conf at conf (under a temp root) and
// returns the new main file and the warnings.
func planNTS(t *testing.T, conf, content string, policy daemon.Policy, servers []Server) (string, []string) {
	t.Helper()
	c, err := planNTSWith(t, NTPDConfig{ConfPath: conf}, content, policy, servers)
	require.NoError(t, err)
	for _, fc := range c.Files {
		if fc.Path == conf {
			return string(fc.New), c.Warnings
		}
	}
	return content, c.Warnings
}

// planNTSWith plans servers over one ntp.conf at cfg.ConfPath, under a
// temp root.
func planNTSWith(t *testing.T, cfg NTPDConfig, content string, policy daemon.Policy, servers []Server) (*Change, error) {
	t.Helper()
	cfg.Root = t.TempDir()
	writeFile(t, filepath.Join(cfg.Root, cfg.ConfPath), []byte(content))
	n, err := NewNTPD(cfg)
	require.NoError(t, err)
	return n.Plan(servers, policy)
}

// TestClassicNTPDRefusesNTS: classic ntpd has no NTS, so a server listed
// with nts is refused (ErrNoNTS, as timesyncd does) unless
// authentication = off allows it plain, with a warning.
func TestClassicNTPDRefusesNTS(t *testing.T) {
	const conf = "/etc/ntp.conf"
	servers := []Server{{Name: "198.51.100.1", NTS: true, Origin: "time.example.test"}, {Name: "192.0.2.11"}}
	for _, policy := range []daemon.Policy{daemon.PolicyConverge, daemon.PolicyAddOnly} {
		c, err := planNTSWith(t, NTPDConfig{ConfPath: conf}, "server 192.0.2.11 iburst\n", policy, servers)
		require.ErrorIs(t, err, ErrNoNTS)
		require.ErrorContains(t, err, "/etc/ntp.conf: selected with NTS: 198.51.100.1 (time.example.test), but nothing shows this ntpd is NTPsec")
		require.Nil(t, c)
	}
	c, err := planNTSWith(t, NTPDConfig{ConfPath: conf, AllowPlain: true}, "server 192.0.2.11 iburst\n", daemon.PolicyConverge, servers)
	require.NoError(t, err)
	require.Equal(t, []string{"/etc/ntp.conf: 198.51.100.1 (time.example.test) listed with nts, but nothing shows this ntpd is NTPsec " +
		"(no nts server line, not under /etc/ntpsec): written without nts, unauthenticated (selection.authentication = off)"}, c.Warnings)
	require.Equal(t, []string{"server 198.51.100.1 iburst", "server 192.0.2.11 iburst"}, blockLines(string(c.Files[0].New)))
}

// blockLines are the server lines of the ntp-optimizer block.
func blockLines(text string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		switch strings.TrimSpace(l) {
		case blockBegin:
			in = true
		case blockEnd:
			in = false
		default:
			if in && strings.HasPrefix(l, "server ") {
				out = append(out, l)
			}
		}
	}
	return out
}

// TestNTPsecEditKeepsNTS: a server the operator configured with `nts`
// keeps it in the block the agent writes; a server listed with nts gets
// it on NTPsec (classic ntpd: TestClassicNTPDRefusesNTS).
func TestNTPsecEditKeepsNTS(t *testing.T) {
	const ntpsecConf = "# NTPsec\nserver 192.0.2.10 nts iburst  # office\nserver 192.0.2.11 iburst\n" +
		"pool 0.debian.pool.ntp.org iburst\n"
	tests := []struct {
		name     string
		conf     string
		content  string
		policy   daemon.Policy
		servers  []Server
		want     []string
		warnHas  string
		disabled string // a line converge comments out, byte for byte
	}{
		{name: "existing nts kept", conf: "/etc/ntpsec/ntp.conf", content: ntpsecConf, policy: daemon.PolicyConverge,
			servers:  []Server{{Name: "192.0.2.10", Origin: "chronyd"}, {Name: "192.0.2.11"}, {Name: "198.51.100.1"}},
			want:     []string{"server 192.0.2.10 iburst nts", "server 192.0.2.11 iburst", "server 198.51.100.1 iburst"},
			disabled: disabledPrefix + "server 192.0.2.10 nts iburst  # office"},
		{name: "listed nts on NTPsec", conf: "/etc/ntpsec/ntp.conf", content: "server 192.0.2.11 iburst\n", policy: daemon.PolicyConverge,
			servers: []Server{{Name: "198.51.100.1", NTS: true}, {Name: "192.0.2.11"}},
			want:    []string{"server 198.51.100.1 iburst nts", "server 192.0.2.11 iburst"}},
		{name: "listed nts where another line shows NTPsec", conf: "/etc/ntp.conf", content: "server 192.0.2.10 nts\n", policy: daemon.PolicyAddOnly,
			servers: []Server{{Name: "198.51.100.1", NTS: true}},
			want:    []string{"server 198.51.100.1 iburst nts"}},
		{name: "nts in a comment is no option", conf: "/etc/ntp.conf", content: "server 192.0.2.11 iburst # no nts here\n", policy: daemon.PolicyConverge,
			servers: []Server{{Name: "192.0.2.11"}},
			want:    []string{"server 192.0.2.11 iburst"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings := planNTS(t, tc.conf, tc.content, tc.policy, tc.servers)
			require.Equal(t, tc.want, blockLines(got), got)
			if tc.disabled != "" {
				require.Contains(t, strings.Split(got, "\n"), tc.disabled)
			}
			if tc.warnHas != "" {
				require.Len(t, warnings, 1)
				require.Contains(t, warnings[0], tc.warnHas)
			} else {
				require.Empty(t, warnings)
			}
		})
	}
}

// TestNTPsecEditNTSIsStable: a second run over the first run's output
// writes the same bytes (the nts comes from the operator's line, which
// stays in the file, disabled).
func TestNTPsecEditNTSIsStable(t *testing.T) {
	const conf = "/etc/ntpsec/ntp.conf"
	servers := []Server{{Name: "192.0.2.10"}, {Name: "198.51.100.1"}}
	first, _ := planNTS(t, conf, "server 192.0.2.10 nts\n", daemon.PolicyConverge, servers)
	second, _ := planNTS(t, conf, first, daemon.PolicyConverge, servers)
	require.Equal(t, first, second)
	require.Equal(t, []string{"server 192.0.2.10 iburst nts", "server 198.51.100.1 iburst"}, blockLines(second))
}

// TestCanNTS: NTPsec authenticates (a server line with nts, or the
// configuration under /etc/ntpsec); classic ntpd and timesyncd do not.
func TestCanNTS(t *testing.T) {
	for _, tc := range []struct {
		conf, content string
		want          bool
	}{
		{"/etc/ntpsec/ntp.conf", "server 192.0.2.11 iburst\n", true},
		{"/etc/ntp.conf", "server 192.0.2.10 nts iburst\n", true},
		{"/etc/ntp.conf", "server 192.0.2.11 iburst # nts in a comment\n", false},
		{"/etc/ntp.conf", "pool 0.debian.pool.ntp.org iburst\n", false},
	} {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, tc.conf), []byte(tc.content))
		n, err := NewNTPD(NTPDConfig{Root: root, ConfPath: tc.conf})
		require.NoError(t, err)
		require.Equal(t, tc.want, n.CanNTS(), "%s: %q", tc.conf, tc.content)
		require.Equal(t, tc.want, (&Files{Kind: DaemonNTPD, Backend: n}).CanNTS())
	}
	n, err := NewNTPD(NTPDConfig{Root: t.TempDir(), ConfPath: "/etc/ntp.conf"})
	require.NoError(t, err)
	require.False(t, n.CanNTS(), "no configuration to read")
	require.False(t, (&Files{Kind: DaemonTimesyncd, Backend: &Timesyncd{}}).CanNTS())
}
