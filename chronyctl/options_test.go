package chronyctl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSetOptions(t *testing.T) {
	for _, tc := range []struct {
		name, opts, err string
		check           func(t *testing.T, r AddSourceRequest)
	}{
		{name: "default", opts: "iburst", check: func(t *testing.T, r AddSourceRequest) {
			require.Equal(t, FlagOnline|FlagIBurst, r.Flags)
		}},
		{name: "values", opts: "iburst minpoll -2 maxpoll 0 maxdelay 0.5 nts ntsport 4461 xleave", check: func(t *testing.T, r AddSourceRequest) {
			require.Equal(t, int32(-2), r.MinPoll)
			require.Equal(t, int32(0), r.MaxPoll)
			require.Equal(t, 0.5, r.MaxDelay)
			require.Equal(t, uint32(4461), r.NTSPort)
			require.Equal(t, FlagOnline|FlagIBurst|FlagNTS|FlagInterleaved, r.Flags)
		}},
		{name: "empty", opts: "", check: func(t *testing.T, r AddSourceRequest) {
			require.Equal(t, FlagOnline, r.Flags)
		}},
		{name: "unknown", opts: "iburst colour red", err: `unknown or unsupported chrony option "colour"`},
		{name: "port is the candidate's", opts: "port 123", err: `unknown or unsupported chrony option "port"`},
		{name: "missing value", opts: "minpoll", err: "minpoll needs a value"},
		{name: "bad integer", opts: "minpoll four", err: `minpoll: want an integer, got "four"`},
		{name: "bad number", opts: "maxdelay far", err: `maxdelay: want a number, got "far"`},
		{name: "newline", opts: "iburst\nrestrict default", err: "contains a newline, NUL or '#'"},
		{name: "comment", opts: "iburst # x", err: "contains a newline, NUL or '#'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewAddSource(TypeServer, "192.0.2.1")
			err := r.SetOptions(tc.opts)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			tc.check(t, r)
		})
	}
}

func TestValidateSourceOptions(t *testing.T) {
	require.NoError(t, ValidateSourceOptions("iburst minpoll 4 maxpoll 10"))
	require.ErrorContains(t, ValidateSourceOptions("minpoll 30"), "minpoll 30 / maxpoll 10: want -7..24")
	require.ErrorContains(t, ValidateSourceOptions("maxdelay 0"), "maxdelay 0: want more than 0")
	require.ErrorContains(t, ValidateSourceOptions("bogus"), `unknown or unsupported chrony option "bogus"`)
}
