package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseInterval(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   time.Duration
		errHas string
	}{
		{in: "12", want: 12 * time.Hour},
		{in: "6", want: 6 * time.Hour},
		{in: "1.5", want: 90 * time.Minute},
		{in: " 24 ", want: 24 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "6h", want: 6 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "5m", want: 5 * time.Minute},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "168", want: 168 * time.Hour},
		{in: "4m59s", errHas: "it must be from 5min to 7d"},
		{in: "0", errHas: "it must be from"},
		{in: "-6", errHas: "it must be from"},
		{in: "169", errHas: "it must be from"},
		{in: "8d", errHas: "it must be from"},
		{in: "NaN", errHas: "it must be from"},
		{in: "Inf", errHas: "it must be from"},
		{in: "1e300", errHas: "it must be from"},
		{in: "", errHas: "want hours (12), a duration (90m, 6h) or days (1d)"},
		{in: "six", errHas: "want hours"},
		{in: "xd", errHas: "want hours"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseInterval(tc.in)
			if tc.errHas != "" {
				require.ErrorIs(t, err, ErrInterval)
				require.Contains(t, err.Error(), tc.errHas)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFormatSpan(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{6 * time.Hour, "6h"},
		{90 * time.Minute, "1h 30min"},
		{7 * 24 * time.Hour, "7d"},
		{75 * time.Second, "1min 15s"},
		{1500 * time.Millisecond, "2s"},
		{0, "0"},
	} {
		require.Equal(t, tc.want, FormatSpan(tc.in), tc.in.String())
	}
}

// FuzzParseInterval: whatever the input, ParseInterval either fails with
// ErrInterval or returns a value in range that the timer can be rendered
// with.
func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"12", "1.5", "90m", "6h", "1h30m", "7d", "5m", "NaN", "-1", "1e300", "0x10", "", "1d12h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseInterval(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInterval)
			return
		}
		require.GreaterOrEqual(t, d, MinInterval)
		require.LessOrEqual(t, d, MaxInterval)
		c := DefaultUnitConfig()
		c.Interval = d.Round(time.Second)
		_, err = RenderTimer(c)
		require.NoError(t, err)
	})
}
