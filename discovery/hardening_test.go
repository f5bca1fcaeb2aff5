package discovery

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// specialAddresses cannot be an NTP server: nobody answers from them, and
// they were accepted and then shown as "not measured" with no reason
// (issue 12, item 10).
var specialAddresses = []struct{ entry, why string }{
	{"0.0.0.0", "the unspecified address"},
	{"0.0.0.0:123", "the unspecified address"},
	{"::", "the unspecified address"},
	{"[::]:10123", "the unspecified address"},
	{"::ffff:0.0.0.0", "the unspecified address"},
	{"255.255.255.255", "the broadcast address"},
	{"::ffff:255.255.255.255", "the broadcast address"},
	{"224.0.1.1", "a multicast address"},
	{"239.255.255.250:1900", "a multicast address"},
	{"ff02::101", "a multicast address"},
	{"[ff05::101]:123", "a multicast address"},
}

// TestListRejectsSpecialAddresses: a servers file or a plain remote list
// naming one of them is refused with file:line and the reason.
func TestListRejectsSpecialAddresses(t *testing.T) {
	for _, tc := range specialAddresses {
		t.Run(tc.entry, func(t *testing.T) {
			text := "# office\nntp.example.org\n" + tc.entry + "  # typo\n"
			_, err := parseList(strings.NewReader(text), "/etc/ntp-optimizer/servers.list")
			var le *ListError
			require.ErrorAs(t, err, &le)
			require.Equal(t, 3, le.Line)
			require.ErrorIs(t, err, ErrBadEntry)
			require.EqualError(t, err, `/etc/ntp-optimizer/servers.list:3: bad server entry "`+tc.entry+`": `+tc.why+` cannot be an NTP server`)

			path := writeList(t, text)
			cfg := DefaultConfig()
			cfg.ServersFiles = []string{path}
			res, err := newDiscoverer(t, "").Discover(context.Background(), cfg, nil)
			require.ErrorContains(t, err, path+":3: bad server entry")
			require.ErrorContains(t, err, tc.why)
			require.Empty(t, res.Candidates)

			_, err = parseRemote([]byte(text), "https://lists.example/ntp")
			require.ErrorContains(t, err, "https://lists.example/ntp:3: bad server entry")
		})
	}
}

// TestCheckServer: the check config runs on servers and keep is the list
// parser's, special addresses included; ordinary unicast addresses pass.
func TestCheckServer(t *testing.T) {
	for _, tc := range specialAddresses {
		err := CheckServer(tc.entry)
		require.ErrorIs(t, err, ErrBadEntry, tc.entry)
		require.ErrorContains(t, err, tc.why+" cannot be an NTP server")
	}
	for _, ok := range []string{"ntp.example.org", "ntp.example.org:10123", "127.0.0.1", "::1", "[::1]:123",
		"192.0.2.1", "10.255.255.255", "2001:db8::1", "169.254.169.123"} {
		require.NoError(t, CheckServer(ok), ok)
	}
	for _, bad := range []string{"", "a b", "a.example\nrestrict default", "a.example:0", "[a.example]:123"} {
		err := CheckServer(bad)
		require.Error(t, err, bad)
		var le *ListError
		require.False(t, errors.As(err, &le), "no list, no line")
	}
}
