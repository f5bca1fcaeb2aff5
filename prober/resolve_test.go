package prober_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// noIPv6 dials like the system would on a host without IPv6 connectivity:
// IPv6 fails with "network is unreachable" (nothing is sent anywhere).
func noIPv6(ctx context.Context, address string) (net.Conn, error) {
	ap := netip.MustParseAddrPort(address)
	if ap.Addr().Is6() {
		return nil, &net.OpError{Op: "dial", Net: "udp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}
	}
	var d net.Dialer
	return d.DialContext(ctx, "udp", address)
}

func TestResolution(t *testing.T) {
	lab := labtest.Start(t, labtest.Scenario(t, "names",
		ntplab.Profile{Name: "a", Delay: time.Millisecond},
		ntplab.Profile{Name: "b", Delay: time.Millisecond},
	))
	a, b := lab.Server("a").Addr(), lab.Server("b").Addr()
	res := ntplab.Resolver{
		"pool.lab.test":    {a.Addr(), b.Addr(), netip.MustParseAddr("2001:db8::123")},
		"alias.lab.test":   {a.Addr()},
		"v4mapped.test":    {netip.AddrFrom16(b.Addr().As16())},
		"nothing.lab.test": nil,
	}
	cfg := labConfig(2, 30*time.Millisecond)
	cfg.Port = int(a.Port())
	p := prober.New(cfg, zerolog.Nop())
	p.Resolver = res
	p.Query = prober.NTPQuery(cfg.Timeout, noIPv6)
	var last prober.Progress
	p.Progress = func(pr prober.Progress) { last = pr }
	out, err := p.Probe(context.Background(), []prober.Target{
		{Name: "pool.lab.test"}, {Name: "alias.lab.test"}, {Name: "nothing.lab.test"},
		{Name: "v4mapped.test"}, {Name: "missing.lab.test"},
	}, prober.RunOptions{})
	require.NoError(t, err)
	require.Len(t, out, 5, "%+v", out)

	require.Equal(t, "pool.lab.test", out[0].Server)
	require.Equal(t, a.Addr(), out[0].Address)
	require.Equal(t, []string{"alias.lab.test"}, out[0].Aliases, "one address is measured once")
	require.Equal(t, 2, out[0].SamplesOK)

	require.Equal(t, b.Addr(), out[1].Address)
	require.Equal(t, []string{"v4mapped.test"}, out[1].Aliases, "an IPv4-mapped IPv6 address is the IPv4 address")

	require.Equal(t, "2001:db8::123", out[2].Address.String())
	require.Zero(t, out[2].SamplesSent)
	require.Contains(t, out[2].Err, "network is unreachable")

	require.Equal(t, "nothing.lab.test", out[3].Server)
	require.Contains(t, out[3].Err, "resolving")
	require.Equal(t, "missing.lab.test", out[4].Server)
	require.Contains(t, out[4].Err, "no such host")

	require.Equal(t, 2, lab.Server("a").Stats().Received)
	require.Equal(t, 3, last.Addresses)
	require.Equal(t, 3, last.AddressesDone)
	require.Equal(t, 4, last.SamplesSent)
	require.LessOrEqual(t, last.PeakInFlight, cfg.MaxInFlight)
}
