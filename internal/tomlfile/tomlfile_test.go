package tomlfile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type server struct {
	Name  string   `toml:"name"`
	Delay Duration `toml:"delay"`
}

type doc struct {
	Servers []server `toml:"server"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct{ name, in, err string }{
		{"ok", "[[server]]\nname = \"a\"\ndelay = \"1.5ms\"\n", ""},
		{"one unknown key", "[[server]]\nname = \"a\"\ncolour = \"red\"\n", `unknown key "server.colour"`},
		{"two unknown keys", "x = 1\n[[server]]\nname = \"a\"\ncolour = \"red\"\n", `unknown keys "x", "server.colour"`},
		{"bad duration", "[[server]]\ndelay = \"fast\"\n", `time: invalid duration "fast"`},
		{"syntax", "[[server]\n", "line 1: toml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tc.in), &d)
			if tc.err == "" {
				require.NoError(t, err)
				require.Equal(t, 1500*time.Microsecond, d.Servers[0].Delay.D())
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
