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
	root := t.TempDir()
	writeFile(t, filepath.Join(root, conf), []byte(content))
	n, err := NewNTPD(NTPDConfig{Root: root, ConfPath: conf})
	require.NoError(t, err)
	c, err := n.Plan(servers, policy)
	require.NoError(t, err)
	for _, fc := range c.Files {
		if fc.Path == conf {
			return string(fc.New), c.Warnings
		}
	}
	return content, c.Warnings
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
// it on NTPsec and not on classic ntpd (which would reject the line).
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
		{name: "listed nts on classic ntpd", conf: "/etc/ntp.conf", content: "server 192.0.2.11 iburst\n", policy: daemon.PolicyConverge,
			servers: []Server{{Name: "198.51.100.1", NTS: true}},
			want:    []string{"server 198.51.100.1 iburst"}, warnHas: "written without nts"},
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
