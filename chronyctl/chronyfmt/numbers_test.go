package chronyfmt

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The expected strings are what chronyc's printf formats give (C and Go
// agree on %4.0f, %+5.0f, %5.1f, ..., including "-0" and round-half-even
// on exact ties), at each threshold of client.c's helpers.

func TestInterval(t *testing.T) {
	tests := []struct {
		in   uint32
		want string
	}{
		{0, "   0"}, {1, "   1"}, {1199, "1199"},
		{1200, " 20m"}, {35999, "599m"},
		{36000, " 10h"}, {345599, " 95h"},
		{345600, "  4d"}, {86400*999 + 86399, "999d"},
		{86400 * 1000, "  2y"}, {86400 * 365 * 100, "100y"},
		{0xFFFFFFFE, "136y"}, {0xFFFFFFFF, "   -"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Interval(tc.in), "%d", tc.in)
	}
}

func TestTime(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "   0ns"}, {4.17e-7, " 417ns"}, {-4.17e-7, " 417ns"},
		{9999.4e-9, "9999ns"}, {9999.5e-9, "  10us"}, {9999.4e-6, "9999us"},
		{9999.5e-6, "  10ms"}, {4, "4000ms"}, {9999.4e-3, "9999ms"},
		{9999.5e-3, " 10.0s"}, {999.4, "999.4s"}, {999.5, " 1000s"},
		{99999.4, "99999s"}, {99999.5, " 1667m"}, {99999.5 * 60, " 1667h"},
		{99999.5 * 3600, " 4167d"}, {99999.5 * 86400, "  274y"},
		{0.5e-9, "   0ns"}, {1.5e-9, "   2ns"}, {2.5e-9, "   2ns"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Time(tc.in), "%g", tc.in)
	}
}

func TestSignedTime(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "     +0ns"[2:]}, {math.Copysign(0, -1), "   -0ns"}, {-0.4e-9, "   -0ns"},
		{1.989e-6, "+1989ns"}, {-1.2e-8, "  -12ns"}, {9999.4e-9, "+9999ns"},
		{-9999.5e-9, "  -10us"}, {9999.5e-6, "  +10ms"}, {-9999.4e-3, "-9999ms"},
		{9999.5e-3, " +10.0s"}, {-999.4, "-999.4s"}, {999.5, " +1000s"},
		{-99999.5, " -1667m"}, {99999.5 * 60, " +1667h"}, {-99999.5 * 3600, " -4167d"},
		{99999.5 * 86400, "  +274y"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, SignedTime(tc.in), "%g", tc.in)
	}
}

// TestNumbersMatchChronyc compares with chronyc's own helpers, compiled
// from its source, on thresholds and thousands of random values
// (testdata/chrony/number-format.txt; see the README there).
func TestNumbersMatchChronyc(t *testing.T) {
	f, err := os.Open("../../testdata/chrony/number-format.txt")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		in, want, ok := strings.Cut(line, "\t")
		require.True(t, ok, line)
		want = strings.TrimSuffix(want, "|")
		kind, value, _ := strings.Cut(in, " ")
		if kind == "P" || kind == "Q" {
			continue // chronyc's ppm columns (sourcestats), which ntp-optimizer does not print
		}
		var got string
		if kind == "I" {
			u, err := strconv.ParseUint(value, 10, 32)
			require.NoError(t, err)
			got = Interval(uint32(u))
		} else {
			x, err := strconv.ParseFloat(value, 64)
			require.NoError(t, err)
			got = map[string]func(float64) string{"T": Time, "S": SignedTime}[kind](x)
		}
		require.Equal(t, want, got, line)
		n++
	}
	require.NoError(t, sc.Err())
	require.Greater(t, n, 3000)
}
