package chronyctl

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in, want string
		wire     string // IPAddr as chronyd expects it
		err      bool
	}{
		{in: "127.0.0.14", want: "127.0.0.14", wire: "7f00000e000000000000000000000000" + "0001" + "0000"},
		{in: "::1", want: "::1", wire: "00000000000000000000000000000001" + "0002" + "0000"},
		{in: "ID#0000000010", want: "ID#0000000010", wire: "0000000a000000000000000000000000" + "0003" + "0000"},
		{in: "ID#7", want: "ID#0000000007", wire: "00000007000000000000000000000000" + "0003" + "0000"},
		{in: "::ffff:192.0.2.1", want: "::ffff:192.0.2.1", wire: "00000000000000000000ffffc0000201" + "0002" + "0000"},
		{in: "ID#0", err: true},
		{in: "ID#x", err: true},
		{in: "ID#4294967296", err: true},
		{in: "fe80::1%eth0", err: true},
		{in: "pool.ntp.org", err: true},
		{in: "", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAddr(tc.in)
			if tc.err {
				require.ErrorIs(t, err, ErrBadAddress)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, a.String())
			var b [ipAddrLen]byte
			putIPAddr(b[:], a)
			require.Equal(t, tc.wire, hex.EncodeToString(b[:]))
			require.Equal(t, a, addrFromLib(libAddr(a)), "round trip through the library's IPAddr")
		})
	}
}

func TestAddrJSON(t *testing.T) {
	in := []Addr{AddrFromIP(mustIP("192.0.2.1").IP), IDAddr(3), {}}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `["192.0.2.1","ID#0000000003",""]`, string(b))
	var out []Addr
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)
}

func TestRefidText(t *testing.T) {
	require.Equal(t, "GPS", RefIDText(0x47505300))
	require.Equal(t, "PPS", RefIDText(0x50505300))
	require.Equal(t, "", RefIDText(0))
	require.Equal(t, "AB", RefIDText(0x41014202), "non-printable bytes are dropped, as chronyc does")
}
