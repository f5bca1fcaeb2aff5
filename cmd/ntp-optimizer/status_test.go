package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// trackingValues are chronyc's formats of the tracking report's values
// (client.c, process_cmd_tracking). Two reads of a live daemon are
// compared by these formats: chronyd may update its clock between them
// several times a second, which changes every line but the stable ones.
var trackingValues = map[string]*regexp.Regexp{
	"Reference ID":    regexp.MustCompile(`^[0-9A-F]{8} \(.*\)$`),
	"Stratum":         regexp.MustCompile(`^\d+$`),
	"Ref time (UTC)":  regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \d{4}$`),
	"System time":     regexp.MustCompile(`^\d+\.\d{9} seconds (fast|slow) of NTP time$`),
	"Last offset":     regexp.MustCompile(`^[+-]\d+\.\d{9} seconds$`),
	"RMS offset":      regexp.MustCompile(`^\d+\.\d{9} seconds$`),
	"Frequency":       regexp.MustCompile(`^\d+\.\d{3} ppm (fast|slow)$`),
	"Residual freq":   regexp.MustCompile(`^[+-]\d+\.\d{3} ppm$`),
	"Skew":            regexp.MustCompile(`^\d+\.\d{3} ppm$`),
	"Root delay":      regexp.MustCompile(`^\d+\.\d{9} seconds$`),
	"Root dispersion": regexp.MustCompile(`^\d+\.\d{9} seconds$`),
	"Update interval": regexp.MustCompile(`^\d+\.\d seconds$`),
	"Leap status":     regexp.MustCompile(`^(Normal|Insert second|Delete second|Not synchronised)$`),
}

// stableTrackingLines cannot change between two reads of a daemon that
// keeps its reference.
var stableTrackingLines = map[string]bool{"Reference ID": true, "Stratum": true, "Leap status": true}

// compareTracking requires the same 13 labels in chronyc's order, every
// value in chronyc's format, and the stable lines equal. Byte-for-byte
// equality of every line is checked against captured replies, which do not
// move (TestStatusFixtureLikeChronyc).
func compareTracking(t *testing.T, ours, theirs string) {
	t.Helper()
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
		re, ok := trackingValues[label]
		require.True(t, ok, "unknown tracking line %q", a[i])
		require.Regexp(t, re, va, "ours, %s", label)
		require.Regexp(t, re, vb, "chronyc's, %s", label)
		if stableTrackingLines[label] {
			require.Equal(t, vb, va, "%s", label)
		}
	}
}

func TestStatusLikeChronyc(t *testing.T) {
	for _, v := range chronytest.Versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			d, srv := labDaemon(t, v)
			for _, flags := range [][]string{{}, {"-n"}, {"-N"}} {
				t.Run(strings.Join(flags, " "), func(t *testing.T) {
					ours, stderr, code := runSerial(t, append([]string{"status", "--chrony-socket", d.Socket}, flags...)...)
					require.Zero(t, code, stderr)
					compareTracking(t, ours, d.Chronyc(t, append(flags, "tracking")...))
					require.Contains(t, ours, fmt.Sprintf("(%s)", srv.Addr))
				})
			}
		})
	}
}

// TestStatusFixtureLikeChronyc serves captured replies (which do not move
// between two reads) to status and to chronyc: the tracking report is
// byte for byte chronyc's.
func TestStatusFixtureLikeChronyc(t *testing.T) {
	chronytest.Need(t, chronytest.V43)
	for _, file := range []string{"replies-4.3.txt", "replies-4.6.txt", "replies-4.3-unsynchronised.txt", "replies-4.6-unsynchronised.txt"} {
		t.Run(file, func(t *testing.T) {
			f, err := chronytest.ReadFixture(filepath.Join("..", "..", "testdata", "chrony", file))
			require.NoError(t, err)
			fake := chronytest.Serve(t, f)
			ours, stderr, code := runSerial(t, "status", "-n", "--chrony-socket", fake.Socket, "--state-dir", t.TempDir())
			require.Zero(t, code, stderr)
			out, err := exec.Command("chronyc", "-n", "-h", fake.Socket, "tracking").CombinedOutput()
			require.NoError(t, err, "%s", out)
			tracking, _, _ := strings.Cut(ours, "\n\n")
			require.Equal(t, string(out), tracking+"\n")
		})
	}
}

func TestStatusUnsynchronised(t *testing.T) {
	d := chronytest.Start(t, chronytest.Options{})
	ours, stderr, code := runSerial(t, "status", "--chrony-socket", d.Socket)
	require.Zero(t, code, stderr)
	compareTracking(t, ours, d.Chronyc(t, "tracking"))
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
