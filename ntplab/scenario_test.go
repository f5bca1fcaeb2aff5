package ntplab_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
)

func repoFile(t *testing.T, rel string) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", rel)
}

func TestShippedScenarios(t *testing.T) {
	tests := []struct {
		file  string
		count int
		truth map[ntplab.Truth]int
	}{
		{"testdata/lab/demo.toml", 9, map[ntplab.Truth]int{ntplab.TruthGood: 4, ntplab.TruthFalseticker: 1,
			ntplab.TruthJittery: 1, ntplab.TruthLossy: 1, ntplab.TruthRateLimited: 1, ntplab.TruthUnsynchronized: 1}},
		{"testdata/lab/bench.toml", 200, map[ntplab.Truth]int{ntplab.TruthGood: 150, ntplab.TruthJittery: 20,
			ntplab.TruthLossy: 20, ntplab.TruthSilent: 10}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			sc, err := ntplab.Load(repoFile(t, tc.file))
			require.NoError(t, err)
			all := sc.Expand()
			require.Len(t, all, tc.count)
			got := map[ntplab.Truth]int{}
			for _, p := range all {
				got[p.Truth]++
			}
			require.Equal(t, tc.truth, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, toml, want string
	}{
		{"unknown key", "[[server]]\nname = \"a\"\ndelai = \"1ms\"\n", `unknown key "server.delai"`},
		{"no servers", "name = \"x\"\n", "no [[server]]"},
		{"bad duration", "[[server]]\nname = \"a\"\ndelay = \"fast\"\n", "invalid lab scenario"},
		{"jitter too large", "[[server]]\nname = \"a\"\ndelay = \"2ms\"\njitter = \"1ms\"\n", "at least 3 × jitter"},
		{"duplicate", "[[server]]\nname = \"a\"\n[[server]]\nname = \"a\"\n", "used twice"},
		{"count clash", "[[server]]\nname = \"a\"\ncount = 2\n[[server]]\nname = \"a-1\"\n", "used twice"},
		{"bad refid", "[[server]]\nname = \"a\"\nstratum = 2\nrefid = \"GPS\"\n", "IPv4 address"},
		{"bad kod", "[[server]]\nname = \"a\"\nkod = \"TOOLONG\"\n", "kod"},
		{"bad action", "[[server]]\nname = \"a\"\n[server.ratelimit]\ninterval = \"1s\"\nburst = 1\naction = \"shout\"\n", "ratelimit action"},
		{"loss", "[[server]]\nname = \"a\"\nloss = 1.5\n", "loss"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ntplab.Parse([]byte(tc.toml))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
