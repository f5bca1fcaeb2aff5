package prober_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

func TestSkipSendsNothing(t *testing.T) {
	lab := labtest.Start(t, labtest.Scenario(t, "skip",
		ntplab.Profile{Name: "measured", Stratum: 1, Delay: ms},
		ntplab.Profile{Name: "skipped", Stratum: 1, Delay: ms},
	))
	skipped := lab.Server("skipped").Addr()
	p := prober.New(labConfig(2, 20*ms), zerolog.Nop())
	skipFn := func(a netip.AddrPort) string {
		if a == skipped {
			return "blacklisted"
		}
		return ""
	}
	var targets []prober.Target
	for _, s := range lab.Servers() {
		targets = append(targets, prober.Target{Name: s.Addr().Addr().String(), Port: int(s.Addr().Port())})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := p.Probe(ctx, targets, prober.RunOptions{Skip: skipFn})
	require.NoError(t, err)
	require.True(t, p.Resolver == nil && p.Query == nil && p.Clock == nil, "Probe leaves the Prober as it was")
	require.Len(t, res, 2)
	for _, r := range res {
		if r.Address == skipped.Addr() {
			require.Equal(t, "blacklisted", r.Skipped)
			require.Zero(t, r.SamplesSent)
			require.Empty(t, r.Err)
		} else {
			require.Empty(t, r.Skipped)
			require.Equal(t, 2, r.SamplesOK)
		}
	}
	require.Zero(t, lab.Server("skipped").Stats().Received, "no packet to a skipped address")
	require.Equal(t, 2, lab.Server("measured").Stats().Received)
}
