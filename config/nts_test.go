package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServersAndKeepTakeNTS: `servers` and `keep` accept a server
// followed by nts, and still refuse any other word after it, naming the
// key, the item and the file's line.
func TestServersAndKeepTakeNTS(t *testing.T) {
	p := writeFile(t, "servers = [\"time.cloudflare.com nts\", \"ntp1.example.org\"]\nkeep = [\"nts.netnod.se:123 nts\"]\n")
	l, err := Load(p, true)
	require.NoError(t, err)
	require.NoError(t, l.Validate())
	require.Equal(t, []string{"time.cloudflare.com nts", "ntp1.example.org"}, l.Config.Servers)

	for _, tc := range []struct{ doc, want string }{
		{"servers = [\"a.example\", \"time.cloudflare.com nts prefer\"]\n", `servers[1] = "time.cloudflare.com nts prefer" (from file ` + "%s:1)"},
		{"\nkeep = [\"time.cloudflare.com iburst\"]\n", `keep[0] = "time.cloudflare.com iburst" (from file ` + "%s:2)"},
	} {
		p := writeFile(t, tc.doc)
		l, err := Load(p, true)
		require.NoError(t, err)
		err = l.Validate()
		require.ErrorIs(t, err, ErrInvalid)
		require.ErrorContains(t, err, strings.ReplaceAll(tc.want, "%s", p))
	}
	// The candidates discovery gets say nts.
	d := l.Config.Discovery()
	require.NoError(t, d.Validate())
	require.Equal(t, []string{"time.cloudflare.com nts", "ntp1.example.org"}, d.Servers)
	require.Equal(t, []string{"nts.netnod.se:123 nts"}, d.Keep)
}

// TestAuthenticationPolicy: selection.authentication is prefer by default,
// takes require and off, refuses anything else naming the key, and reaches
// scoring and the timesyncd backend.
func TestAuthenticationPolicy(t *testing.T) {
	l, err := Load(writeFile(t, ""), true)
	require.NoError(t, err)
	require.Equal(t, "prefer", string(l.Config.Scoring().Authentication))
	require.False(t, l.Config.Timesyncd().AllowPlain)

	for _, v := range []string{"require", "off"} {
		l, err := Load(writeFile(t, "[selection]\nauthentication = \""+v+"\"\n"), true)
		require.NoError(t, err)
		require.NoError(t, l.Validate())
		require.Equal(t, v, string(l.Config.Scoring().Authentication))
		sc := l.Config.Scoring()
		require.NoError(t, sc.Validate())
		require.Equal(t, v == "off", l.Config.Timesyncd().AllowPlain)
	}
	p := writeFile(t, "[selection]\nauthentication = \"maybe\"\n")
	l, err = Load(p, true)
	require.NoError(t, err)
	err = l.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "selection.authentication")
	require.ErrorContains(t, err, "prefer, require, off")
}
