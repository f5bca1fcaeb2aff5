package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

// fastPoll makes chronyd poll lab servers every 0.25 to 1 s, so a test run
// takes seconds; production keeps chrony's defaults plus iburst.
const fastPoll = "iburst minpoll -2 maxpoll 0"

// applyEnv is a lab, a sandboxed chronyd using some of its servers, a
// servers file listing all of them and a state directory.
type applyEnv struct {
	t       *testing.T
	lab     *ntplab.Lab
	d       *chronytest.Daemon
	state   string
	servers string
	extra   []string // more flags for every run
}

// demoProfiles is the demo's neighbourhood: four good servers with
// distinct upstreams, a jittery and a lossy one (the poor starting set), a
// low-jitter falseticker, a rate-limiting one and an unsynchronised one.
func demoProfiles() []ntplab.Profile {
	ms := time.Millisecond
	return []ntplab.Profile{
		{Name: "good-gps", Truth: ntplab.TruthGood, Stratum: 1, RefID: "GPS", Delay: 2 * ms, Jitter: 100 * time.Microsecond},
		{Name: "good-pps", Truth: ntplab.TruthGood, Stratum: 1, RefID: "PPS", Delay: 3 * ms, Jitter: 150 * time.Microsecond},
		{Name: "good-s2a", Truth: ntplab.TruthGood, Stratum: 2, RefID: "192.0.2.1", Delay: 4 * ms, Jitter: 200 * time.Microsecond, RootDelay: 5 * ms},
		{Name: "good-s2b", Truth: ntplab.TruthGood, Stratum: 2, RefID: "198.51.100.7", Delay: 5 * ms, Jitter: 200 * time.Microsecond, RootDelay: 6 * ms},
		{Name: "jittery", Truth: ntplab.TruthJittery, Stratum: 3, RefID: "203.0.113.5", Delay: 120 * ms, Jitter: 40 * ms, RootDelay: 10 * ms},
		{Name: "lossy", Truth: ntplab.TruthLossy, Stratum: 2, RefID: "203.0.113.9", Delay: 15 * ms, Jitter: 500 * time.Microsecond, Loss: 0.5, RootDelay: 6 * ms},
		{Name: "falseticker", Truth: ntplab.TruthFalseticker, Stratum: 1, RefID: "GPS", Offset: 150 * ms, Delay: 2 * ms, Jitter: 50 * time.Microsecond},
		{Name: "kod", Truth: ntplab.TruthRateLimited, Stratum: 2, RefID: "192.0.2.77", Delay: 5 * ms, RateLimit: &ntplab.RateLimit{Interval: time.Minute, Burst: 2, Action: ntplab.ActionKoD}},
		{Name: "unsync", Truth: ntplab.TruthUnsynchronized, Unsynchronized: true, Delay: 5 * ms},
	}
}

// newApplyEnv starts the lab (each server in its own /24, like independent
// operators) and a chronyd whose configuration names the initial servers.
func newApplyEnv(t *testing.T, v chronytest.Version, profiles []ntplab.Profile, initial ...string) *applyEnv {
	t.Helper()
	lab := labtest.StartWith(t, labtest.Scenario(t, t.Name(), profiles...), ntplab.Options{Spread: true})
	var lines []string
	for _, n := range initial {
		a := lab.Server(n).Addr()
		lines = append(lines, fmt.Sprintf("server %s port %d %s", a.Addr(), a.Port(), fastPoll))
	}
	d := chronytest.Start(t, chronytest.Options{Version: v, Config: lines, SourceDir: true})
	return labEnv(t, lab, d)
}

// labEnv is an applyEnv on lab and d, with a servers file listing every
// lab server and a state directory of its own.
func labEnv(t *testing.T, lab *ntplab.Lab, d *chronytest.Daemon) *applyEnv {
	t.Helper()
	e := &applyEnv{t: t, lab: lab, d: d, state: filepath.Join(t.TempDir(), "state")}
	e.servers = filepath.Join(t.TempDir(), "servers")
	var list strings.Builder
	for _, s := range lab.Servers() {
		fmt.Fprintf(&list, "%s  # %s\n", s.Addr(), s.Profile().Name)
	}
	require.NoError(t, os.WriteFile(e.servers, []byte(list.String()), 0o644))
	return e
}

// args are the flags of every run: this chronyd, its sourcedir, the lab's
// servers only, a short schedule against the lab.
func (e *applyEnv) args() []string {
	return append([]string{"apply", "--json", "--no-schedule",
		"--chrony-socket", e.d.Socket, "--chrony-conf", e.d.Conf(), "--state-dir", e.state,
		"--servers-file", e.servers, "--no-discovery", "--spacing", "150ms", "--samples", "4",
		"--source-options", fastPoll, "--answer-timeout", "5s", "--verify-timeout", "15s"}, e.extra...)
}

// apply runs `ntp-optimizer apply --json` and decodes its report.
func (e *applyEnv) apply(more ...string) (agent.Report, string, int) {
	e.t.Helper()
	out, stderr, code := runSerial(e.t, append(e.args(), more...)...)
	var r agent.Report
	if out != "" {
		require.NoError(e.t, json.Unmarshal([]byte(out), &r), "stdout: %s\nstderr: %s", out, stderr)
		checkSchema(e.t, "apply", out)
	}
	return r, stderr, code
}

// sources returns chronyd's NTP sources' addresses, sorted.
func (e *applyEnv) sources() []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srcs, err := e.d.Client(e.t).SourcesParts(ctx, 0)
	require.NoError(e.t, err)
	var out []string
	for _, s := range srcs {
		if s.Mode != chronyctl.ModeRefclock {
			out = append(out, s.Address.String())
		}
	}
	slices.Sort(out)
	return out
}

// addrs returns the lab addresses of the named servers, sorted.
func (e *applyEnv) addrs(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, e.lab.Server(n).Addr().Addr().String())
	}
	slices.Sort(out)
	return out
}

// name maps a lab address back to its server's name.
func (e *applyEnv) name(addr string) string {
	for _, s := range e.lab.Servers() {
		if s.Addr().Addr().String() == addr {
			return s.Profile().Name
		}
	}
	return addr
}

// names maps report changes to lab names.
func (e *applyEnv) names(addrs []netip.Addr) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, e.name(a.String()))
	}
	return out
}

// waitSelected waits until chronyd has selected a source (so a following
// run starts from a synchronised daemon).
func (e *applyEnv) waitSelected() {
	e.t.Helper()
	c := e.d.Client(e.t)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		srcs, err := c.SourcesParts(context.Background(), 0)
		require.NoError(e.t, err)
		for _, s := range srcs {
			if s.State == chronyctl.StateSelected {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("chronyd selected no source within 15 s:\n%s", e.d.Chronyc(e.t, "-n", "sources"))
}
