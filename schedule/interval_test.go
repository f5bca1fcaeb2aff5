package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
