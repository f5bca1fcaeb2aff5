package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
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
	checkSchema(t, "status", out)
	require.Contains(t, st.Daemon, "chronyd")
	require.NotEmpty(t, st.Timer.Note, "no systemd here")
	tr := st.Tracking
	require.Equal(t, srv.Addr, tr.Address.IP)
	require.Equal(t, 3, tr.Stratum)
	require.Equal(t, chronyctl.LeapNormal, tr.Leap)
	require.Contains(t, out, `"leap": "normal"`)
}

// TestStatusAgentPart: the agent's block with a last run that was an
// outage, the run counts and the blacklist's active entries, each with
// its reason, the end of its term and the last line of its evidence.
func TestStatusAgentPart(t *testing.T) {
	st := blScoring()
	bl := agent.Blacklist(&st, blNow, false)
	var b strings.Builder
	require.NoError(t, writeAgentStatus(&b, &statusReport{
		Daemon: "chronyd (command socket /run/chrony/chronyd.sock answers)",
		LastRun: &agent.RunSummary{RunID: "5f1c2a9e", Time: blNow.Add(-2 * time.Hour), Outcome: agent.OutcomeOutage,
			Reason:   "network outage: none of the 12 host names resolved (DNS is down here)",
			Duration: 4.2, Selected: []string{"192.0.2.1", "192.0.2.2"}},
		Managed:   map[string]agent.ManagedSource{"192.0.2.2": {}, "192.0.2.1": {}},
		Counters:  agent.Counters{Runs: 12, Changes: 3, Rollbacks: 1, Outages: 2},
		Blacklist: bl.Entries,
		Failures:  bl.Failures,
		Timer:     timerStatus{Note: "systemd is not running"},
	}))
	require.Equal(t, ""+
		"NTP daemon      : chronyd (command socket /run/chrony/chronyd.sock answers)\n"+
		"Last run        : Sun Mar 01 10:00:00 2026 UTC, outage: network outage: none of the 12 host names resolved (DNS is down here) (run 5f1c2a9e, 4.2 s)\n"+
		"Selected        : 192.0.2.1, 192.0.2.2\n"+
		"Added by agent  : 2: 192.0.2.1, 192.0.2.2\n"+
		"Runs            : 12 (3 changed, 1 rolled back, 0 failed, 2 outages)\n"+
		"Blacklisted     : 2; 1 address not answering, counting toward it (ntp-optimizer blacklist list)\n"+
		"                  192.0.2.7 (ntp.example.org) until Mon Mar 02 10:00:00 2026 UTC: no reply in 3 runs in a row\n"+
		"                    2026-03-01T10:00:00Z: no reply to 8 samples (chronyd); 3 of 3 others measured so answered\n"+
		"                  2001:db8::123 (deny.example.net) until Mon Mar 02 12:00:00 2026 UTC: kiss-o'-death DENY\n"+
		"Timer           : systemd is not running\n", b.String())

	b.Reset()
	require.NoError(t, writeAgentStatus(&b, &statusReport{Daemon: "ntpd", Timer: timerStatus{Note: "n/a"}}))
	require.Contains(t, b.String(), "Runs            : 0 (0 changed, 0 rolled back, 0 failed, 0 outages)\n")
	require.Contains(t, b.String(), "Blacklisted     : none\n")
}

// TestStatusShowsBlacklist runs status against captured chronyd replies
// and a state directory, on a clock of its own: the blacklist and the
// counters come from state.json, the active entries as of that clock.
func TestStatusShowsBlacklist(t *testing.T) {
	f, err := chronytest.ReadFixture(filepath.Join("..", "..", "testdata", "chrony", "replies-4.3.txt"))
	require.NoError(t, err)
	fake := chronytest.Serve(t, f)
	dir := blStateDir(t)
	out, stderr, code := runAt(t, blNow, "status", "-n", "--chrony-socket", fake.Socket, "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "Runs            : 12 (3 changed, 1 rolled back, 0 failed, 2 outages)\n")
	require.Contains(t, out, "Blacklisted     : 2; 1 address not answering, counting toward it (ntp-optimizer blacklist list)\n"+
		"                  192.0.2.7 (ntp.example.org) until Mon Mar 02 10:00:00 2026 UTC: no reply in 3 runs in a row\n"+
		"                    2026-03-01T10:00:00Z: no reply to 8 samples (chronyd); 3 of 3 others measured so answered\n"+
		"                  2001:db8::123 (deny.example.net) until Mon Mar 02 12:00:00 2026 UTC: kiss-o'-death DENY\n")
	require.NotContains(t, out, "old.example", "a lifted entry is not shown")

	// Two days later both terms have run out.
	out, stderr, code = runAt(t, blNow.Add(48*time.Hour), "status", "-n", "--chrony-socket", fake.Socket, "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "Blacklisted     : none; 1 address not answering")

	out, stderr, code = runAt(t, blNow, "status", "--json", "--chrony-socket", fake.Socket, "--state-dir", dir)
	require.Zero(t, code, stderr)
	var rep struct {
		Counters  agent.Counters        `json:"counters"`
		Blacklist []agent.BlacklistItem `json:"blacklist"`
		Failures  []agent.FailureCount  `json:"failures"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Equal(t, 2, rep.Counters.Outages)
	require.Len(t, rep.Blacklist, 2)
	require.Equal(t, "ntp.example.org", rep.Blacklist[0].Name)
	require.Len(t, rep.Blacklist[0].Evidence, 3)
	require.Len(t, rep.Failures, 1)
}
