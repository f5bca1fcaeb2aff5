package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// movingTrackingLines change continuously, not only at clock updates.
var movingTrackingLines = map[string]bool{"System time": true, "Root dispersion": true}

// compareTracking requires the same 13 labels and identical values except
// for the lines that move between two calls; ok is false when chronyd
// updated its clock between the calls (Ref time differs), so the caller
// tries again.
func compareTracking(t *testing.T, ours, theirs string) (ok bool) {
	tracking, agentPart, found := strings.Cut(ours, "\n\n")
	require.True(t, found, "a blank line separates the tracking report from the agent's status:\n%s", ours)
	require.Contains(t, agentPart, "NTP daemon      : chronyd")
	a, b := lines(tracking+"\n"), lines(theirs)
	require.Len(t, a, 13, ours)
	require.Len(t, b, 13, theirs)
	for i := range a {
		la, va, _ := strings.Cut(a[i], " : ")
		lb, vb, _ := strings.Cut(b[i], " : ")
		require.Equal(t, lb, la, "label of line %d", i)
		label := strings.TrimSpace(la)
		if label == "Ref time (UTC)" && va != vb {
			return false
		}
		if movingTrackingLines[label] {
			require.Regexp(t, `^\d+\.\d{9} seconds (fast|slow)( of NTP time)?$|^\d+\.\d{9} seconds$`, va)
			continue
		}
		require.Equal(t, vb, va, "%s", label)
	}
	return true
}

func TestStatusLikeChronyc(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			d, srv := labDaemon(t, v)
			for _, flags := range [][]string{{}, {"-n"}, {"-N"}} {
				t.Run(strings.Join(flags, " "), func(t *testing.T) {
					for try := 0; ; try++ {
						ours, stderr, code := runSerial(t, append([]string{"status", "--chrony-socket", d.Socket}, flags...)...)
						require.Zero(t, code, stderr)
						theirs := d.Chronyc(t, append(flags, "tracking")...)
						if compareTracking(t, ours, theirs) {
							require.Contains(t, ours, fmt.Sprintf("(%s)", srv.Addr))
							return
						}
						require.Less(t, try, 10, "chronyd kept updating between the calls")
					}
				})
			}
		})
	}
}

func TestStatusUnsynchronised(t *testing.T) {
	d := chronytest.Start(t, chronytest.Options{})
	ours, stderr, code := runSerial(t, "status", "--chrony-socket", d.Socket)
	require.Zero(t, code, stderr)
	require.True(t, compareTracking(t, ours, d.Chronyc(t, "tracking")))
	require.Contains(t, ours, "Reference ID    : 00000000 ()\n")
	require.Contains(t, ours, "Ref time (UTC)  : Thu Jan 01 00:00:00 1970\n")
	require.Contains(t, ours, "Leap status     : Not synchronised\n")
}

func TestStatusJSON(t *testing.T) {
	d, srv := labDaemon(t, chronytest.V43)
	out, stderr, code := runSerial(t, "status", "--json", "--chrony-socket", d.Socket)
	require.Zero(t, code, stderr)
	var st struct {
		Daemon   string             `json:"daemon"`
		Tracking chronyctl.Tracking `json:"tracking"`
		Timer    struct{ Note string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.Contains(t, st.Daemon, "chronyd")
	require.NotEmpty(t, st.Timer.Note, "no systemd here")
	tr := st.Tracking
	require.Equal(t, srv.Addr, tr.Address.IP)
	require.Equal(t, 3, tr.Stratum)
	require.Equal(t, chronyctl.LeapNormal, tr.Leap)
	require.Contains(t, out, `"leap": "normal"`)
}
