package discovery

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

func TestParseEntry(t *testing.T) {
	tests := []struct {
		in       string
		name     string
		port     int
		errorHas string
	}{
		{in: "time.example.org", name: "time.example.org", port: 123},
		{in: "Time.Example.ORG.", name: "time.example.org", port: 123},
		{in: "time.example.org:10123", name: "time.example.org", port: 10123},
		{in: "127.0.0.12", name: "127.0.0.12", port: 123},
		{in: "127.0.0.12:40123", name: "127.0.0.12", port: 40123},
		{in: "2001:DB8:0::1", name: "2001:db8::1", port: 123},
		{in: "[2001:db8::1]:4123", name: "2001:db8::1", port: 4123},
		{in: "[::1]", name: "::1", port: 123},
		{in: "time.example.org:0", errorHas: "port"},
		{in: "time.example.org:65536", errorHas: "port"},
		{in: "time.example.org:ntp", errorHas: "port"},
		{in: "time.example.org:", errorHas: "port"},
		{in: "[time.example.org]:123", errorHas: "brackets"},
		{in: "[::1", errorHas: "missing ']'"},
		{in: "[::1]:x:y", errorHas: "bad server entry"},
		{in: "a.example#x", errorHas: "'#'"},
		{in: "a.example\nrestrict default", errorHas: "control character"},
		{in: "fe80::1%eth0", errorHas: "IPv6"},
		{in: "", errorHas: "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			name, port, err := parseEntry(tc.in)
			if tc.errorHas != "" {
				require.ErrorContains(t, err, tc.errorHas)
				require.True(t, errors.Is(err, ErrBadEntry) || errors.Is(err, srvname.ErrInvalid))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.name, name)
			require.Equal(t, tc.port, port)
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []listEntry
		errLine int
		errHas  string
	}{
		{name: "comments and blanks",
			text: "# office servers\n\nntp1.example.org\n  ntp2.example.org  # second\n\t127.0.0.5:40123\n",
			want: []listEntry{{"ntp1.example.org", 123, 3}, {"ntp2.example.org", 123, 4}, {"127.0.0.5", 40123, 5}}},
		{name: "CRLF line ends", text: "a.example\r\nb.example\r\n",
			want: []listEntry{{"a.example", 123, 1}, {"b.example", 123, 2}}},
		{name: "no final newline", text: "a.example", want: []listEntry{{"a.example", 123, 1}}},
		{name: "empty", text: "", want: nil},
		{name: "hash inside a name", text: "a.example\nb.example#evil\n", errLine: 2, errHas: "'#'"},
		{name: "injected second line", text: "a.example\nrestrict default\n", errLine: 2, errHas: "one server per line"},
		{name: "chrony options", text: "a.example iburst\n", errLine: 1, errHas: "unexpected \"iburst\""},
		{name: "stray CR", text: "a.ex\rample\n", errLine: 1, errHas: "control character"},
		{name: "NUL", text: "a.example\x00\n", errLine: 1, errHas: "control character"},
		{name: "bad port", text: "\n\na.example:99999\n", errLine: 3, errHas: "port"},
		{name: "too long a line", text: "a.example\n" + strings.Repeat("a", 5000) + "\n", errLine: 2, errHas: "longer than 4096"},
		{name: "non-breaking space", text: "a.example\u00a0\n", errLine: 1, errHas: "whitespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseList(strings.NewReader(tc.text), "/etc/ntp-optimizer/servers.list")
			if tc.errHas == "" {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
				return
			}
			require.Nil(t, got)
			var le *ListError
			require.ErrorAs(t, err, &le)
			require.Equal(t, tc.errLine, le.Line)
			require.Contains(t, err.Error(), tc.errHas)
			require.True(t, strings.HasPrefix(err.Error(), "/etc/ntp-optimizer/servers.list:"), err.Error())
		})
	}
}

// FuzzParseList checks that whatever a list holds, every entry that comes
// out is safe on a configuration line and survives a round trip.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"a.example\n", "# c\n\n127.0.0.1:123 # x\n", "[::1]:123\n", "a#b\n", "a\rb\n", "a b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := parseList(strings.NewReader(s), "fuzz")
		if err != nil {
			var le *ListError
			require.ErrorAs(t, err, &le)
			require.Nil(t, entries)
			return
		}
		for _, e := range entries {
			require.NoError(t, srvname.Validate(e.Name))
			require.False(t, strings.ContainsAny(e.Name, " \t\r\n#\x00"), "unsafe name %q", e.Name)
			require.True(t, e.Port >= 1 && e.Port <= 65535)
			require.Equal(t, e.Name, normalizeName(e.Name))
		}
	})
}
