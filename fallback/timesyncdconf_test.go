package fallback

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

func TestTimesyncdGolden(t *testing.T) {
	for _, policy := range []daemon.Policy{daemon.PolicyConverge, daemon.PolicyAddOnly} {
		t.Run(string(policy), func(t *testing.T) {
			root := rootWith(t, "timesyncd-debian12.conf", "/etc/systemd/timesyncd.conf")
			ts, err := NewTimesyncd(TimesyncdConfig{Root: root})
			require.NoError(t, err)
			cur, err := ts.Current(t.Context())
			require.NoError(t, err)
			require.Empty(t, cur, "Debian's file has every key commented out")
			c, err := ts.Plan(selection, policy)
			require.NoError(t, err)
			checkGolden(t, filepath.Join(fixtureDir, "golden", "timesyncd-debian12.conf."+string(policy)+".diff"), c.Diff())
		})
	}
}

func TestParseNTPKey(t *testing.T) {
	tests := []struct {
		name, text string
		start      []string
		want       []string
	}{
		{name: "append", text: "[Time]\nNTP=a b\nNTP=c\n", want: []string{"a", "b", "c"}},
		{name: "reset", text: "[Time]\nNTP=\nNTP=c\n", start: []string{"x"}, want: []string{"c"}},
		{name: "other section", text: "[Other]\nNTP=a\n[Time]\n#NTP=b\n;NTP=c\nFallbackNTP=d\n", want: nil},
		{name: "crlf and spaces", text: "[Time]\r\n NTP = a  b \r\n", want: []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, parseNTPKey([]byte(tc.text), tc.start))
		})
	}
}

// TestTimesyncdDropInOrder: drop-ins are read by name, /etc hides /usr/lib,
// and a later drop-in that resets NTP= makes validation fail.
func TestTimesyncdDropInOrder(t *testing.T) {
	root := rootWith(t, "timesyncd-debian12.conf", "/etc/systemd/timesyncd.conf")
	writeFile(t, filepath.Join(root, "/usr/lib/systemd/timesyncd.conf.d/50-vendor.conf"), []byte("[Time]\nNTP=vendor.example\n"))
	writeFile(t, filepath.Join(root, "/etc/systemd/timesyncd.conf.d/50-vendor.conf"), []byte("[Time]\nNTP=site.example\n"))
	writeFile(t, filepath.Join(root, "/run/systemd/timesyncd.conf.d/zz-late.conf"), []byte("[Time]\nNTP=\nNTP=late.example\n"))
	ts, err := NewTimesyncd(TimesyncdConfig{Root: root})
	require.NoError(t, err)
	cur, err := ts.Current(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"late.example"}, cur)

	c, err := ts.Plan(selection, daemon.PolicyConverge)
	require.NoError(t, err)
	writeFile(t, filepath.Join(root, TimesyncdDropIn), c.Files[0].New)
	require.ErrorContains(t, ts.validate(c), "overrides it")
}
