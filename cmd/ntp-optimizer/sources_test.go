package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// compareSources compares our table with chronyc's: the legend and header
// byte for byte, then per row MS, Name/IP, Stratum, Poll and Reach byte
// for byte and LastRx and the sample in chronyc's units.
func compareSources(ours, theirs string) error {
	a, b := lines(ours), lines(theirs)
	if len(a) != len(b) {
		return fmt.Errorf("%d lines, chronyc %d:\n%s\nchronyc:\n%s", len(a), len(b), ours, theirs)
	}
	for i := range a {
		la, ta, okA := cutTail(a[i])
		lb, _, okB := cutTail(b[i])
		if okA != okB || la != lb {
			return fmt.Errorf("line %d differs:\n ours    %q\n chronyc %q", i, a[i], b[i])
		}
		if okA && len(ta) != len(b[i])-len(lb) {
			return fmt.Errorf("line %d: tail width differs: %q vs %q", i, a[i], b[i])
		}
	}
	return nil
}

func cutTail(row string) (string, string, bool) {
	loc := sourcesTail.FindStringIndex(row)
	if loc == nil {
		return row, "", false
	}
	return row[:loc[0]], row[loc[0]:], true
}

func TestSourcesLikeChronyc(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			d, srv := labDaemon(t, v)
			for _, flags := range [][]string{
				{}, {"-n"}, {"-a"}, {"-v"}, {"-a", "-n", "-v"}, {"-N"}, {"-N", "-a"},
			} {
				t.Run(strings.Join(flags, " "), func(t *testing.T) {
					var err error
					for range 3 { // a row may move between the two calls (reach, state)
						global, local := chronycFlags(flags)
						ours, stderr, code := runSerial(t, append([]string{"sources", "--chrony-socket", d.Socket}, flags...)...)
						require.Zero(t, code, stderr)
						require.Empty(t, stderr)
						theirs := d.Chronyc(t, append(append(global, "sources"), local...)...)
						if err = compareSources(ours, theirs); err == nil {
							if !contains(flags, "-a") {
								require.NotContains(t, ours, "ID#")
							}
							require.Contains(t, ours, srv.Addr.String())
							return
						}
					}
					require.NoError(t, err)
				})
			}
			t.Run("reverse DNS of 127.0.0.1", func(t *testing.T) {
				ours, _, _ := runSerial(t, "sources", "--chrony-socket", d.Socket)
				require.Regexp(t, `(?m)^\^\? localhost +0 +10 +0 `, ours)
			})
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSourcesJSON(t *testing.T) {
	d, srv := labDaemon(t, chronytest.V43)
	out, stderr, code := runSerial(t, "sources", "--json", "--chrony-socket", d.Socket)
	require.Zero(t, code, stderr)
	require.Empty(t, stderr, "no note over the Unix socket")
	var srcs []chronyctl.Source
	jsonList(t, out, "sources", "sources", &srcs)
	require.Len(t, srcs, 5)
	var raw []map[string]any
	jsonList(t, out, "sources", "sources", &raw)
	for _, key := range []string{"address", "name", "mode", "state", "poll", "stratum", "reach", "last_rx_s", "offset_s", "measured_offset_s", "offset_error_s", "stats", "ntp", "select", "has"} {
		require.Contains(t, raw[0], key)
	}
	for _, s := range srcs {
		if s.Address.IP == srv.Addr {
			require.Equal(t, chronyctl.Has{Stats: true, NTPData: true, Select: true, Name: true}, s.Has)
			require.Positive(t, s.Stats.StdDev+s.NTP.Delay)
			require.Equal(t, uint8(0o377), s.Reach)
			require.Equal(t, "selected", fmt.Sprint(raw[s.Index]["state"]))
		}
	}
}

func TestSourcesErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	_, stderr, code := runSerial(t, "sources", "--chrony-socket", dir+"/chronyd.sock", "--chrony-address", "127.0.0.1:9")
	require.Equal(t, exitFailure, code)
	require.Contains(t, stderr, "does not exist: is chronyd running?")
	require.Contains(t, stderr, "nothing listens on 127.0.0.1:9")

	_, stderr, code = runSerial(t, "sources", "--chrony-timeout", "0s")
	require.Equal(t, exitUsage, code, stderr)
	_, stderr, code = runSerial(t, "sources", "--chrony-address", "localhost:323")
	require.Equal(t, exitUsage, code, stderr)
	_, stderr, code = runSerial(t, "sources", "extra")
	require.Equal(t, exitUsage, code, stderr)
}
