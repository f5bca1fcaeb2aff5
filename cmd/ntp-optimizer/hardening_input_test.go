package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// silentServer is a UDP socket that reads NTP requests and never answers,
// so a probe of it waits for its whole timeout.
func silentServer(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return c.LocalAddr().String()
}

// TestSignalsEndARunLikeSIGTERM (issue 12, item 10): SIGHUP killed the
// process without the SIGTERM cleanup (exit 129), SIGQUIT dumped the
// goroutines and exited 2, the usage-error code. Each now cancels the run
// as SIGTERM and SIGINT do: the same exit code and message.
func TestSignalsEndARunLikeSIGTERM(t *testing.T) {
	bin := binary(t)
	server := silentServer(t)
	run := func(sig syscall.Signal) (int, string) {
		// 4 samples 2 s apart: the probe lasts over 6 s, well past the
		// signal (one sample ends after its 0.5 s final wait, which a
		// loaded machine can reach before the signal).
		cmd := exec.Command(bin, "--config", "", "--log-level", "error", "probe", "--samples", "4", "--spacing", "2s",
			"--timeout", "30s", server)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		time.Sleep(500 * time.Millisecond) // past start-up, in the probe
		require.NoError(t, cmd.Process.Signal(sig))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%v: still running 10 s after the signal", sig)
		}
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.False(t, ws.Signaled(), "%v: killed by %v: %s", sig, ws.Signal(), out.String())
		return cmd.ProcessState.ExitCode(), out.String()
	}
	termCode, termOut := run(syscall.SIGTERM)
	require.Equal(t, exitFailure, termCode, termOut)
	require.Contains(t, termOut, "context canceled")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
		code, out := run(sig)
		require.Equal(t, termCode, code, "%v: %s", sig, out)
		require.Equal(t, termOut, out, "%v", sig)
		require.NotContains(t, out, "goroutine", "%v", sig)
	}
}

// TestApplySignalsCleanUpLikeSIGTERM: the same against a real chronyd,
// for apply. A signal while apply probes (a silent server keeps it there)
// ends the run as SIGTERM does: the same exit code, chronyd's sources as
// before, and the run's client socket gone from chronyd's socket
// directory. SIGHUP used to kill apply there (and SIGQUIT dump and exit
// 2), leaving the socket behind.
func TestApplySignalsCleanUpLikeSIGTERM(t *testing.T) {
	profiles := append(demoProfiles()[:4], ntplab.Profile{Name: "dead", Silent: true})
	e := newApplyEnv(t, chronytest.V43, profiles, goodServers[:3]...)
	e.waitSelected()
	before := e.sources()
	bin := binary(t)
	run := func(sig syscall.Signal) (int, string) {
		cmd := exec.Command(bin, append([]string{"--config", "", "--log-level", "error"},
			append(e.args(), "--timeout", "20s")...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		time.Sleep(1500 * time.Millisecond) // in the probe, waiting for the silent server
		require.NoError(t, cmd.Process.Signal(sig))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%v: apply still running 15 s after the signal", sig)
		}
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.False(t, ws.Signaled(), "%v: killed by %v: %s", sig, ws.Signal(), out.String())
		left, err := filepath.Glob(filepath.Join(filepath.Dir(e.d.Socket), fmt.Sprintf("ntp-optimizer.%d.*.sock", cmd.Process.Pid)))
		require.NoError(t, err)
		require.Empty(t, left, "%v: the run's client socket is left in chronyd's socket directory", sig)
		require.Equal(t, before, e.sources(), "%v: chronyd's sources changed", sig)
		return cmd.ProcessState.ExitCode(), out.String()
	}
	termCode, termOut := run(syscall.SIGTERM)
	require.NotEqual(t, exitOK, termCode, termOut)
	require.NotEqual(t, exitUsage, termCode, termOut)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT} {
		code, out := run(sig)
		require.Equal(t, termCode, code, "%v: %s", sig, out)
		require.NotContains(t, out, "goroutine", "%v", sig)
	}
}

// TestOutageTableSaysNothingWasRemoved (issue 12, item 10): in an outage
// run nothing is added or removed, but the performance table's reasons
// said "removed: ..." for current sources the scoring would have dropped.
// The table gives the measurement's reason; what was done is said below
// it, once.
func TestOutageTableSaysNothingWasRemoved(t *testing.T) {
	cand := func(addr string, v scoring.Verdict, reason string) agent.CandidateReport {
		return agent.CandidateReport{Candidate: scoring.Candidate{Verdict: v, Reason: reason,
			Measurement: scoring.Measurement{Address: netip.MustParseAddr(addr), Name: addr, SamplesSent: 4}}}
	}
	rep := &agent.Report{RunID: "r1", Backend: "chrony", Outcome: agent.OutcomeOutage,
		Reason:   "network outage: none of the 3 servers probed answered, and none of chrony's 2 sources answered its latest poll",
		Selected: []string{"192.0.2.1", "192.0.2.2"}, Added: []scoring.Change{}, Removed: []scoring.Change{},
		Candidates: []agent.CandidateReport{
			cand("192.0.2.1", scoring.Rejected, "removed: reachability 0% is below 50%"),
			cand("192.0.2.2", scoring.Rejected, "removed: no reply to any of 4 samples, 2nd run in a row"),
			cand("192.0.2.3", scoring.Rejected, "no reply to any of 4 samples"),
		}}
	var b bytes.Buffer
	require.NoError(t, writeApplyReport(&b, rep))
	out := b.String()
	require.NotContains(t, out, "removed", out)
	require.Contains(t, out, "reachability 0% is below 50%")
	require.Contains(t, out, "no reply to any of 4 samples, 2nd run in a row")
	require.Contains(t, out, "nothing was changed or counted")

	// An applied run says what it removed, in the decision lines.
	rep.Outcome = agent.OutcomeApplied
	rep.Removed = []scoring.Change{{Address: netip.MustParseAddr("192.0.2.2"), Server: "192.0.2.2", Reason: "removed: no reply"}}
	b.Reset()
	require.NoError(t, writeApplyReport(&b, rep))
	require.Contains(t, b.String(), "\nremoved 192.0.2.2: ")
	require.Contains(t, b.String(), "applied: 0 added, 1 removed")
}

// TestHistorySparklineIsCapped (issue 12, item 10): 5,001 runs drew a
// 5,001-character sparkline. The trend shows the last sparkRuns runs of
// each server and the header says so; the other columns cover every run.
func TestHistorySparklineIsCapped(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 5001
	tr := agent.Trend{Server: "ntp.example", Address: netip.MustParseAddr("192.0.2.1")}
	outages := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		tr.Points = append(tr.Points, agent.TrendPoint{Time: start.Add(time.Duration(i) * time.Hour), RunID: id,
			Score: float64(i % 101), Measured: true, Verdict: scoring.Selected})
		if i == n-2 {
			outages[id] = true
		}
	}
	var b bytes.Buffer
	require.NoError(t, writeTrends(&b, []agent.Trend{tr}, outages))
	rows := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, rows, 2)
	require.Contains(t, rows[0], fmt.Sprintf("Trend (score, last %d runs)", sparkRuns))
	require.Less(t, utf8.RuneCountInString(rows[1]), 200, rows[1])
	require.Contains(t, rows[1], "  5000  ", "Runs counts every run but the outage")
	require.Contains(t, rows[1], "5000/5000", "Selected too")
	require.Equal(t, sparkRuns, 60)
	spark := []rune(strings.Fields(rows[1])[4])
	require.Len(t, spark, sparkRuns)
	require.Equal(t, outageMark, spark[len(spark)-2], "the outage is the last run but one")
	require.Equal(t, agent.Sparkline([]float64{float64((n - 1) % 101)}, nil, 0, 100), string(spark[len(spark)-1]))

	// Fewer runs than the cap: the whole trend, the header as before.
	tr.Points = tr.Points[:10]
	b.Reset()
	require.NoError(t, writeTrends(&b, []agent.Trend{tr}, nil))
	require.Contains(t, b.String(), "Trend (score)  ")
	require.NotContains(t, b.String(), "last")
}

// configCheck runs the built binary's `config check` with the variables
// set, under a 2 GB address-space limit and a 20 s deadline, so a loader
// that reads without limit or blocks fails the test instead of the machine.
func configCheck(t *testing.T, env ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", `ulimit -v 2000000 && exec "$0" config check`, binary(t))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "config check still running after 20 s: %s", out)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestConfigCheckHostileInput (issue 12, items 6 and 9), end to end:
// NTP_OPTIMIZER_CONFIG=/dev/zero ran `config check` out of memory; a FIFO
// blocked it; duplicate keys and min_set_size above set_size passed.
// Each is now exit 2 with one line naming the file (and line) or the
// variable.
func TestConfigCheckHostileInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o600))
		return p
	}
	dup := write("dup.toml", "[selection]\nset_size = 2\nset_size = 3\n")
	sizes := write("sizes.toml", "[selection]\nset_size = 2\nmin_set_size = 5\n")
	rel := write("rel.toml", "[paths]\nstate_dir = \"state\"\n")
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"dev-zero", []string{"NTP_OPTIMIZER_CONFIG=/dev/zero"},
			"ntp-optimizer: configuration file /dev/zero: a character device, not a regular file (--config \"\" runs on the built-in defaults)"},
		{"fifo", []string{"NTP_OPTIMIZER_CONFIG=" + fifo},
			"ntp-optimizer: configuration file " + fifo + ": a FIFO, not a regular file (--config \"\" runs on the built-in defaults)"},
		{"directory", []string{"NTP_OPTIMIZER_CONFIG=" + dir},
			"ntp-optimizer: configuration file " + dir + ": a directory, not a regular file (--config \"\" runs on the built-in defaults)"},
		{"duplicate key", []string{"NTP_OPTIMIZER_CONFIG=" + dup},
			"ntp-optimizer: " + dup + `:3: duplicate key "selection.set_size" (first set at line 2)`},
		{"min_set_size", []string{"NTP_OPTIMIZER_CONFIG=" + sizes},
			"ntp-optimizer: selection.min_set_size = 5 (from file " + sizes + ":3): must be at most selection.set_size (2, from file " + sizes + ":2)"},
		{"relative state_dir", []string{"NTP_OPTIMIZER_CONFIG=" + rel},
			"ntp-optimizer: paths.state_dir = \"state\" (from file " + rel + ":2): must be an absolute path"},
		{"keep", []string{"NTP_OPTIMIZER_CONFIG=", "NTP_OPTIMIZER_KEEP=evil host"},
			`ntp-optimizer: keep[0] = "evil host" (from env NTP_OPTIMIZER_KEEP): must be a server: host, host:port or [IPv6]:port: invalid server name "evil host": whitespace at byte 4`},
		{"broadcast", []string{"NTP_OPTIMIZER_CONFIG=", "NTP_OPTIMIZER_SERVER=ntp.example,255.255.255.255"},
			`ntp-optimizer: servers[1] = "255.255.255.255" (from env NTP_OPTIMIZER_SERVER): must be a server: host, host:port or [IPv6]:port: bad server entry "255.255.255.255": the broadcast address cannot be an NTP server`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := configCheck(t, tc.env...)
			require.Equal(t, exitUsage, code, out)
			require.Equal(t, tc.want+"\n", out)
		})
	}
}
