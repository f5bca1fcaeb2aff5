package chronyfmt

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// fakeResolver answers reverse lookups from a map.
type fakeResolver map[string]string

func (f fakeResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	if n, ok := f[addr]; ok {
		return []string{n, "second.example."}, nil
	}
	return nil, errors.New("no such host")
}

func ip(s string) chronyctl.Addr { return chronyctl.AddrFromIP(netip.MustParseAddr(s)) }

var table = []chronyctl.Source{
	{Address: ip("192.0.2.1"), Name: "ntp.example.org", Has: chronyctl.Has{Name: true}, Mode: chronyctl.ModeServer,
		State: chronyctl.StateSelected, Stratum: 2, Poll: -1, Reach: 0o377, LastRx: 0,
		Offset: 1.989e-6, MeasuredOffset: 2.041e-6, OffsetError: 6.542e-6},
	{Address: ip("2001:db8::123"), Name: "bad name", Has: chronyctl.Has{Name: true}, Mode: chronyctl.ModePeer,
		State: chronyctl.StateNotCombined, Stratum: 3, Poll: 10, Reach: 0o17, LastRx: 4000,
		Offset: -0.0125, MeasuredOffset: -0.0126, OffsetError: 0.5},
	{Address: chronyctl.IDAddr(1), Name: "nonexistent.invalid", Has: chronyctl.Has{Name: true}, Mode: chronyctl.ModeServer,
		State: chronyctl.StateUnusable, Poll: 6, LastRx: chronyctl.NoSample},
	{Name: "GPS", RefID: 0x47505300, Mode: chronyctl.ModeRefclock, State: chronyctl.StateFalseticker, Poll: 4, Reach: 1, LastRx: 400000},
}

func TestSourcesTable(t *testing.T) {
	dns := fakeResolver{"192.0.2.1": "a-very-long-hostname.example.org."}
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"dns", Options{Resolver: dns}, `MS Name/IP address         Stratum Poll Reach LastRx Last sample               
===============================================================================
^* a-very-long-hostname.exa>     2  -1   377     0  +1989ns[+2041ns] +/- 6542ns
=- 2001:db8::123                 3  10    17   66m    -12ms[  -13ms] +/-  500ms
#x GPS                           0   4     1    4d     +0ns[   +0ns] +/-    0ns
`},
		{"numeric all", Options{Names: NamesNumeric, All: true}, `MS Name/IP address         Stratum Poll Reach LastRx Last sample               
===============================================================================
^* 192.0.2.1                     2  -1   377     0  +1989ns[+2041ns] +/- 6542ns
=- 2001:db8::123                 3  10    17   66m    -12ms[  -13ms] +/-  500ms
^? ID#0000000001                 0   6     0     -     +0ns[   +0ns] +/-    0ns
#x GPS                           0   4     1    4d     +0ns[   +0ns] +/-    0ns
`},
		{"configured names", Options{Names: NamesConfigured, All: true}, `MS Name/IP address         Stratum Poll Reach LastRx Last sample               
===============================================================================
^* ntp.example.org               2  -1   377     0  +1989ns[+2041ns] +/- 6542ns
=- ?                             3  10    17   66m    -12ms[  -13ms] +/-  500ms
^? nonexistent.invalid           0   6     0     -     +0ns[   +0ns] +/-    0ns
#x GPS                           0   4     1    4d     +0ns[   +0ns] +/-    0ns
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, Sources(context.Background(), &b, table, tc.o))
			require.Equal(t, tc.want, b.String())
		})
	}
	var b bytes.Buffer
	require.NoError(t, Sources(context.Background(), &b, nil, Options{Verbose: true}))
	require.True(t, strings.HasPrefix(b.String(), "\n  .-- Source mode  '^' = server, '=' = peer, '#' = local clock.\n"))
	require.Len(t, lines(b.String()), 1+8+2)
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestTrackingReport(t *testing.T) {
	tr := chronyctl.Tracking{RefID: 0x7F000005, Address: ip("127.0.0.5"), Stratum: 3, Leap: chronyctl.LeapNormal,
		RefTime: time.Date(2026, 11, 26, 11, 17, 7, 5e8, time.UTC), CurrentCorrection: -2.553e-6, LastOffset: 2.4e-8,
		RMSOffset: 1.439e-6, FreqPPM: 0.1674, ResidFreqPPM: -0.0004, SkewPPM: 1.059, RootDelay: 8.398e-6,
		RootDispersion: 2.702e-6, LastUpdateInterval: 0.5}
	var b bytes.Buffer
	require.NoError(t, Tracking(context.Background(), &b, tr, Options{Names: NamesNumeric}, nil))
	require.Equal(t, `Reference ID    : 7F000005 (127.0.0.5)
Stratum         : 3
Ref time (UTC)  : Thu Nov 26 11:17:07 2026
System time     : 0.000002553 seconds fast of NTP time
Last offset     : +0.000000024 seconds
RMS offset      : 0.000001439 seconds
Frequency       : 0.167 ppm fast
Residual freq   : -0.000 ppm
Skew            : 1.059 ppm
Root delay      : 0.000008398 seconds
Root dispersion : 0.000002702 seconds
Update interval : 0.5 seconds
Leap status     : Normal
`, b.String())

	// Zero correction prints "fast", zero frequency "slow", as chronyc; a
	// refclock reference shows its refid text; -N asks for the name.
	local := chronyctl.Tracking{RefID: 0x47505300, Leap: chronyctl.LeapNotSynchronised, RefTime: time.Unix(0, 0)}
	b.Reset()
	require.NoError(t, Tracking(context.Background(), &b, local, Options{}, nil))
	require.Contains(t, b.String(), "Reference ID    : 47505300 (GPS)\n")
	require.Contains(t, b.String(), "System time     : 0.000000000 seconds fast of NTP time\n")
	require.Contains(t, b.String(), "Frequency       : 0.000 ppm slow\n")
	require.Contains(t, b.String(), "Ref time (UTC)  : Thu Jan 01 00:00:00 1970\n")
	require.Contains(t, b.String(), "Leap status     : Not synchronised\n")
	b.Reset()
	name := func(_ context.Context, a chronyctl.Addr) (string, error) {
		return "ntp." + a.String() + ".example", nil
	}
	require.NoError(t, Tracking(context.Background(), &b, tr, Options{Names: NamesConfigured}, name))
	require.Contains(t, b.String(), "(ntp.127.0.0.5.example)\n")
	b.Reset()
	require.NoError(t, Tracking(context.Background(), &b, tr, Options{Resolver: fakeResolver{"127.0.0.5": "localhost."}}, nil))
	require.Contains(t, b.String(), "7F000005 (localhost)\n")
}
