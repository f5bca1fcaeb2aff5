package chronylive

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// After an outage every member's register shows the same missed polls;
// those say nothing about any one source.
func TestCommonMissesAfterAnOutage(t *testing.T) {
	src := func(reach uint8, tx uint32) chronyctl.Source {
		return chronyctl.Source{Mode: chronyctl.ModeServer, Reach: reach, NTP: chronyctl.NTPData{TotalTx: tx}}
	}
	// Three full registers, the network down for the 4 polls before the
	// latest 2 (bits 2..5 clear in all three); one source also lost poll 7.
	after := []chronyctl.Source{src(0b1100_0011, 40), src(0b1100_0011, 40), src(0b0100_0011, 40), src(0b0000_0001, 3)}
	common := commonMisses(after)
	require.Equal(t, uint8(0b0011_1100), common)
	for i, want := range []float64{1, 1, 0.75} {
		m := measurement(&after[i], 0, common)
		require.InDelta(t, want, m.Reach(), 1e-9, "source %d", i)
	}
	young := measurement(&after[3], 0, common)
	require.Equal(t, 2, young.SamplesSent, "a young source is judged on its own polls outside the outage")
	require.Equal(t, 1, young.SamplesOK)

	// One source answering everything: nothing is common.
	require.Zero(t, commonMisses(append(after[:3:3], src(0xFF, 40))))
	// Fewer than three full registers: a silent source does not excuse itself.
	require.Zero(t, commonMisses([]chronyctl.Source{src(0b1100_0011, 40), src(0b1100_0011, 40)}))
	// Everything silent is an outage, not a mask that hides it.
	require.Zero(t, commonMisses([]chronyctl.Source{src(0, 40), src(0, 40), src(0, 40)}))
}
