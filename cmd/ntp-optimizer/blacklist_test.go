package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// blNow is "now" for the blacklist tests: entries are placed around it and
// the commands run on a clock reading it, whatever today's date.
var blNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// runAt is runSerial with the app's clock reading now (a Stepper: waits
// pass at once).
func runAt(t *testing.T, now time.Time, args ...string) (string, string, int) {
	t.Helper()
	return runOn(t, clocktest.NewStepper(now), args...)
}

// runOn is runSerial on the given clock.
func runOn(t *testing.T, clk clock.Clock, args ...string) (string, string, int) {
	t.Helper()
	appMu.Lock()
	defer appMu.Unlock()
	app := newApp()
	app.Metadata = map[string]any{clockKey: clk}
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"ntp-optimizer", "--log-level", "error"}, args...))
	code := 0
	if err != nil {
		errOut.WriteString(err.Error())
		f, _ := os.CreateTemp(t.TempDir(), "err")
		code = exitCode(err, f)
	}
	return out.String(), errOut.String(), code
}

// blScoring has a silent entry with evidence, a KoD entry, a lifted entry
// and an address counting toward the blacklist.
func blScoring() scoring.State {
	return scoring.State{
		Blacklist: map[netip.Addr]scoring.BlacklistEntry{
			netip.MustParseAddr("192.0.2.7"): {Name: "ntp.example.org", Reason: "no reply in 3 runs in a row",
				Kind: scoring.BlacklistSilent, Since: blNow.Add(-2 * time.Hour), Until: blNow.Add(22 * time.Hour), Count: 1,
				Evidence: []string{
					"2026-02-28T22:00:00Z: no reply to 4 samples (probe); 5 of 6 others measured so answered",
					"2026-03-01T04:00:00Z: no reply to 4 samples (probe); 6 of 6 others measured so answered",
					"2026-03-01T10:00:00Z: no reply to 8 samples (chronyd); 3 of 3 others measured so answered",
				}},
			netip.MustParseAddr("2001:db8::123"): {Name: "deny.example.net", Reason: "kiss-o'-death DENY",
				Kind: scoring.BlacklistKoD, Since: blNow.Add(-24 * time.Hour), Until: blNow.Add(24 * time.Hour), Count: 2},
			netip.MustParseAddr("203.0.113.5"): {Name: "old.example", Reason: "no reply in 3 runs in a row",
				Kind: scoring.BlacklistSilent, Since: blNow.Add(-72 * time.Hour), Until: blNow.Add(-60 * time.Hour),
				Lifted: blNow.Add(-60 * time.Hour), Count: 1},
		},
		Failures: map[netip.Addr]int{netip.MustParseAddr("203.0.113.9"): 2},
		Evidence: map[netip.Addr][]string{netip.MustParseAddr("203.0.113.9"): {
			"2026-03-01T04:00:00Z: no reply to 4 samples (probe); 6 of 7 others measured so answered",
			"2026-03-01T10:00:00Z: no reply to 4 samples (probe); 6 of 7 others measured so answered",
		}},
	}
}

// blStateDir is a state directory holding blScoring.
func blStateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, (&agent.Store{Dir: dir, Logger: zerolog.Nop()}).SaveState(agent.State{Scoring: blScoring(),
		Counters: agent.Counters{Runs: 12, Changes: 3, Rollbacks: 1, Outages: 2}}))
	return dir
}

func TestBlacklistList(t *testing.T) {
	dir := blStateDir(t)
	out, stderr, code := runAt(t, blNow, "blacklist", "list", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Equal(t, ""+
		"Address        Server            Kind    Since                 Until                 Count  Reason\n"+
		"192.0.2.7      ntp.example.org   silent  2026-03-01T10:00:00Z  2026-03-02T10:00:00Z  1      no reply in 3 runs in a row\n"+
		"    2026-02-28T22:00:00Z: no reply to 4 samples (probe); 5 of 6 others measured so answered\n"+
		"    2026-03-01T04:00:00Z: no reply to 4 samples (probe); 6 of 6 others measured so answered\n"+
		"    2026-03-01T10:00:00Z: no reply to 8 samples (chronyd); 3 of 3 others measured so answered\n"+
		"2001:db8::123  deny.example.net  kod     2026-02-28T12:00:00Z  2026-03-02T12:00:00Z  2      kiss-o'-death DENY\n"+
		"\n"+
		"Counting toward the blacklist (blacklisted after 3 runs in a row without a reply):\n"+
		"Address      Runs\n"+
		"203.0.113.9  2 of 3\n"+
		"    2026-03-01T04:00:00Z: no reply to 4 samples (probe); 6 of 7 others measured so answered\n"+
		"    2026-03-01T10:00:00Z: no reply to 4 samples (probe); 6 of 7 others measured so answered\n", out)

	out, stderr, code = runAt(t, blNow, "blacklist", "list", "--all", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "\n203.0.113.5    old.example       silent  2026-02-26T12:00:00Z  2026-02-27T00:00:00Z (lifted)  1      no reply in 3 runs in a row\n",
		"--all adds the ended entries, after the active ones")

	// A day later the silent entry has run out: --all shows it expired.
	out, _, _ = runAt(t, blNow.Add(23*time.Hour), "blacklist", "list", "-a", "--state-dir", dir)
	require.Contains(t, out, "2026-03-02T10:00:00Z (expired)")
	require.Regexp(t, `^Address .*\n2001:db8::123 `, out, "the active entry first")

	out, stderr, code = runAt(t, blNow, "blacklist", "list", "--json", "--state-dir", dir)
	require.Zero(t, code, stderr)
	var rep struct {
		Blacklist []struct {
			Address  string    `json:"address"`
			Server   string    `json:"server"`
			Kind     string    `json:"kind"`
			Until    time.Time `json:"until"`
			Count    int       `json:"count"`
			Evidence []string  `json:"evidence"`
			Active   bool      `json:"active"`
		} `json:"blacklist"`
		Failures []struct {
			Address  string   `json:"address"`
			Runs     int      `json:"runs"`
			Evidence []string `json:"evidence"`
		} `json:"failures"`
		After int `json:"blacklist_after_runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	checkSchema(t, "blacklist", out)
	require.Len(t, rep.Blacklist, 2)
	require.Equal(t, "192.0.2.7", rep.Blacklist[0].Address)
	require.Equal(t, "ntp.example.org", rep.Blacklist[0].Server)
	require.Equal(t, "silent", rep.Blacklist[0].Kind)
	require.True(t, rep.Blacklist[0].Active)
	require.Len(t, rep.Blacklist[0].Evidence, 3)
	require.Equal(t, blNow.Add(22*time.Hour), rep.Blacklist[0].Until)
	require.Len(t, rep.Failures, 1)
	require.Equal(t, 2, rep.Failures[0].Runs)
	require.Len(t, rep.Failures[0].Evidence, 2)
	require.Equal(t, 3, rep.After)

	out, stderr, code = runAt(t, blNow, "blacklist", "list", "--state-dir", t.TempDir())
	require.Zero(t, code, stderr)
	require.Equal(t, "no server is blacklisted\n\nno failures counting toward the blacklist\n", out)

	_, stderr, code = runAt(t, blNow, "blacklist", "list", "192.0.2.7", "--state-dir", dir)
	require.Equal(t, exitUsage, code, stderr)
}

func TestBlacklistClear(t *testing.T) {
	dir := blStateDir(t)
	out, stderr, code := runAt(t, blNow, "blacklist", "clear", "--state-dir", dir, "NTP.example.org", "203.0.113.5")
	require.Zero(t, code, stderr)
	require.Equal(t, ""+
		"cleared 192.0.2.7 (ntp.example.org): no reply in 3 runs in a row, blacklisted since 2026-03-01T10:00:00Z until 2026-03-02T10:00:00Z; kept, ended, so a repeat doubles the term (once so far)\n"+
		"203.0.113.5 (old.example): not blacklisted (its term ended 2026-02-27T00:00:00Z): nothing to clear\n"+
		"1 entry cleared; the next run measures it again\n", out)
	st := readState(t, dir)
	e := st.Scoring.Blacklist[netip.MustParseAddr("192.0.2.7")]
	require.Equal(t, blNow, e.Lifted)
	require.False(t, e.Active(blNow))
	require.Equal(t, 1, e.Count, "kept for doubling")
	require.True(t, st.Scoring.Blacklist[netip.MustParseAddr("2001:db8::123")].Active(blNow), "not named")
	require.Equal(t, agent.Counters{Runs: 12, Changes: 3, Rollbacks: 1, Outages: 2}, st.Counters)

	out, _, _ = runAt(t, blNow, "blacklist", "list", "--state-dir", dir)
	require.NotContains(t, out, "192.0.2.7 ")

	// Unknown: exit 2, nothing cleared, not even the known one.
	before, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	_, stderr, code = runAt(t, blNow, "blacklist", "clear", "--state-dir", dir, "2001:db8::123", "nope.example")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `"nope.example": not on the blacklist`)
	after, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	require.Equal(t, string(before), string(after))

	for _, args := range [][]string{{}, {"--all", "192.0.2.7"}} {
		_, stderr, code = runAt(t, blNow, append([]string{"blacklist", "clear", "--state-dir", dir}, args...)...)
		require.Equal(t, exitUsage, code, "%v: %s", args, stderr)
	}

	out, stderr, code = runAt(t, blNow, "blacklist", "clear", "--all", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Equal(t, ""+
		"cleared 2001:db8::123 (deny.example.net): kiss-o'-death DENY, blacklisted since 2026-02-28T12:00:00Z until 2026-03-02T12:00:00Z; kept, ended, so a repeat doubles the term (2 times so far)\n"+
		"1 entry cleared; the next run measures it again\n", out)
	out, stderr, code = runAt(t, blNow, "blacklist", "clear", "--all", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Equal(t, "no server is blacklisted: nothing cleared\n", out)
	require.Len(t, readState(t, dir).Scoring.Blacklist, 3, "every entry kept, ended")
}

// stoppedClock reads a fixed time but waits for real: a wait for the lock
// lasts until the lock is released.
type stoppedClock struct{ now time.Time }

func (c stoppedClock) Now() time.Time                         { return c.now }
func (c stoppedClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// TestBlacklistClearWaitsForTheLock: clear takes the agent's lock, so it
// never interleaves with a run.
func TestBlacklistClearWaitsForTheLock(t *testing.T) {
	dir := blStateDir(t)
	held, err := (&agent.Store{Dir: dir}).Lock(t.Context(), 0)
	require.NoError(t, err)
	released := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		released <- held.Unlock()
	}()
	out, stderr, code := runOn(t, stoppedClock{blNow}, "blacklist", "clear", "--state-dir", dir, "192.0.2.7")
	require.Zero(t, code, stderr)
	select {
	case err := <-released:
		require.NoError(t, err)
	default:
		t.Fatal("clear finished while a run held the lock")
	}
	require.Contains(t, out, "cleared 192.0.2.7")
}

// TestBlacklistLeavesTheDaemonAlone: blacklist takes no daemon flags, so
// it cannot be pointed at a daemon, and it reads only the state directory.
func TestBlacklistLeavesTheDaemonAlone(t *testing.T) {
	for _, sub := range blacklistCommand().Subcommands {
		for _, f := range sub.Flags {
			for _, n := range f.Names() {
				require.Contains(t, []string{"state-dir", "all", "a", "json"}, n, "blacklist %s", sub.Name)
			}
		}
	}
	_, _, code := runAt(t, blNow, "blacklist", "clear", "--chrony-socket", "/nonexistent", "--all", "--state-dir", t.TempDir())
	require.NotZero(t, code, "no such flag")
}
