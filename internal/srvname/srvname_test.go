package srvname

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		reason string // empty: valid
	}{
		{name: "hostname", input: "time.cloudflare.com"},
		{name: "pool zone", input: "0.de.pool.ntp.org"},
		{name: "fqdn with final dot", input: "ntp.example.org."},
		{name: "single label", input: "localhost"},
		{name: "ipv4", input: "192.0.2.1"},
		{name: "ipv6", input: "2001:db8::123"},
		{name: "ipv6 loopback", input: "::1"},
		{name: "digit label", input: "1and1.example"},
		{name: "max length", input: strings.Repeat("a.", 126) + "a"},
		{name: "empty", input: "", reason: "empty"},
		{name: "newline injection", input: "pool.ntp.org\nrestrict default", reason: "control character"},
		{name: "timesyncd section injection", input: "a.example\n[Time]", reason: "control character"},
		{name: "comment", input: "a.example#x", reason: "'#'"},
		{name: "space", input: "a.example iburst", reason: "whitespace"},
		{name: "tab", input: "a\texample", reason: "control character"},
		{name: "nul", input: "a\x00b", reason: "control character"},
		{name: "unicode space", input: "a\u00a0b", reason: "whitespace"},
		{name: "invalid utf8", input: "a\xffb", reason: "UTF-8"},
		{name: "underscore", input: "a_b.example", reason: "not allowed"},
		{name: "semicolon", input: "a;b", reason: "not allowed"},
		{name: "double dot", input: "a..example", reason: "empty label"},
		{name: "leading dot", input: ".example", reason: "empty label"},
		{name: "leading hyphen", input: "-a.example", reason: "hyphen"},
		{name: "label too long", input: strings.Repeat("a", 64) + ".example", reason: "longer than 63"},
		{name: "name too long", input: strings.Repeat("a.", 127) + "a", reason: "longer than 253"},
		{name: "bad ipv4", input: "256.1.1.1", reason: "IPv4"},
		{name: "bad ipv6", input: "2001:db8:::1", reason: "IPv6"},
		{name: "ipv6 zone", input: "fe80::1%eth0", reason: "IPv6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.input)
			if tc.reason == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrInvalid))
			require.Contains(t, err.Error(), tc.reason)
		})
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"pool.ntp.org", "::1", "a\nb", "1.2.3.4", "a#b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Validate(s) != nil {
			return
		}
		// Whatever passes must be safe on a config line.
		require.False(t, strings.ContainsAny(s, " \t\r\n#\x00\"'\\;"), "unsafe name %q accepted", s)
		require.LessOrEqual(t, len(s), MaxLen+1)
	})
}
