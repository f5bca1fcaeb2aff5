package agent_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/internal/sim"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// The soak: months of timer runs in seconds. The real pipeline
// (discovery, scoring, decision, plan, the live chronyd backend with its
// answer wait, verification and rollback, the state and its blacklist and
// hysteresis, the notifier's throttle) runs every 6 simulated hours against
// a simulated world and a meaning-level chronyd (package sim), through
// scripted timelines. After every run the safety invariant is checked.
//
// `make test` runs a short version; `make soak` (and `make bench`) the
// full 180 days: go test ./agent -run TestSoak -soak.days 180 -v.

var soakDays = flag.Int("soak.days", 0, "simulated days per soak timeline (0: a short version, or NTP_OPTIMIZER_SOAK_DAYS)")

const runEvery = 6 * time.Hour

// day returns the run index of the start of day d.
func day(d int) int { return d * int(24*time.Hour/runEvery) }

type timeline struct {
	name string
	// pool: chronyd's configuration has a rotating pool instead of servers.
	pool bool
	// poor: chronyd starts on the four mediocre servers.
	poor bool
	// step changes the world before run i (i from 0).
	step func(i int, w *sim.World, c *sim.Chronyd)
	// want checks the timeline's figures.
	want func(t *testing.T, f figures)
}

// figures are what a timeline reports.
type figures struct {
	runs, changes, outageRuns, violations int
	changesPer30d                         float64
	deadReplacedIn                        int // runs from the death to its replacement; -1: no death
	optimal                               float64
	healthyBlacklisted                    int
	notifications                         int
	maxPackets                            int
	poolRefills                           int
}

func (f figures) String() string {
	dead := "-"
	if f.deadReplacedIn >= 0 {
		dead = strconv.Itoa(f.deadReplacedIn)
	}
	return fmt.Sprintf("runs %4d  changes %3d (%.2f/30d)  outage runs %3d  violations %d  dead replaced in %s run(s)  "+
		"optimal %5.1f %%  healthy blacklisted %d  notifications %3d  max packets/addr/run %d  pool refills %d",
		f.runs, f.changes, f.changesPer30d, f.outageRuns, f.violations, dead, 100*f.optimal, f.healthyBlacklisted,
		f.notifications, f.maxPackets, f.poolRefills)
}

// soakServers are ten servers, each with its own operator, /24 and
// upstream: six good ones (s01 the best) and four mediocre ones (s07..s10:
// far, jittery, stratum 3). chronyd starts on s01..s04 unless a timeline
// says otherwise.
func soakServers() []*sim.Server {
	var out []*sim.Server
	for i := 1; i <= 10; i++ {
		s := &sim.Server{
			Name: fmt.Sprintf("ntp.op%02d.test", i), Addr: addrOf(i),
			Offset: 0.0002 * float64(i%3), Delay: 0.002 + 0.003*float64(i), Jitter: 0.0001 + 0.00005*float64(i),
			RootDelay: 0.002 + 0.001*float64(i), RootDisp: 0.0005, Stratum: 1 + i/4,
			RefID: fmt.Sprintf("192.0.2.%d", 10+i),
		}
		if i >= 7 {
			s.Delay, s.Jitter, s.Stratum = 0.090+0.01*float64(i-7), 0.007+0.001*float64(i-7), 3
		}
		out = append(out, s)
	}
	return out
}

func addrOf(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i), 1}) }

func timelines() []timeline {
	atMost := func(per30 float64) func(*testing.T, figures) {
		return func(t *testing.T, f figures) {
			require.LessOrEqual(t, f.changesPer30d, per30, "changes per 30 days")
		}
	}
	outage := func(from, runs int, noRoute bool) func(int, *sim.World, *sim.Chronyd) {
		return func(i int, w *sim.World, _ *sim.Chronyd) {
			w.NetDown, w.NoRoute = i >= from && i < from+runs, noRoute
		}
	}
	replacedWithin := func(n int) func(*testing.T, figures) {
		return func(t *testing.T, f figures) {
			require.GreaterOrEqual(t, f.deadReplacedIn, 1, "the death was seen")
			require.LessOrEqual(t, f.deadReplacedIn, n, "runs until the dead member was replaced")
		}
	}
	return []timeline{
		{name: "steady", want: atMost(2)},
		{name: "converging from a poor set", poor: true, want: func(t *testing.T, f figures) {
			require.LessOrEqual(t, f.changes, 4, "four members to replace, at most one change each")
			require.GreaterOrEqual(t, f.optimal, 0.9)
		}},
		{name: "degrading member", step: func(i int, w *sim.World, _ *sim.Chronyd) {
			// s01, a member, degrades over a week.
			if i >= day(2) {
				s := w.Server(addrOf(1))
				f := min(float64(i-day(2))/float64(day(7)), 1)
				s.Jitter = 0.00016 + f*0.03
				s.Loss = f * 0.5
			}
		}},
		{name: "sudden death", step: func(i int, w *sim.World, _ *sim.Chronyd) {
			w.Server(addrOf(1)).Dead = i >= day(5)
		}, want: replacedWithin(1)},
		{name: "falseticker in the set", step: func(i int, w *sim.World, _ *sim.Chronyd) {
			if i >= day(4) {
				w.Server(addrOf(2)).Offset = 0.150
			}
		}},
		{name: "outage 1 run", step: outage(day(3), 1, false)},
		{name: "outage 3 runs", step: outage(day(3), 3, false)},
		{name: "outage 3 days (offline laptop)", step: outage(day(3), day(3), true)},
		{name: "DNS outage", step: func(i int, w *sim.World, _ *sim.Chronyd) {
			w.DNSDown = i >= day(3) && i < day(4)
		}},
		{name: "firewall drops the agent's probes", step: func(i int, w *sim.World, _ *sim.Chronyd) {
			w.DropProbes = i >= day(2) && i < day(12)
		}, want: atMost(2)},
		{name: "chronyd restarts and is down", poor: true, step: func(i int, _ *sim.World, c *sim.Chronyd) {
			switch {
			case i > 0 && i%day(5) == 0:
				c.Start() // a restart: the configuration and the sources file again
			case i%day(7) == 3:
				c.Stop()
			case !c.Up():
				c.Start()
			}
		}},
		{name: "rotating pool", pool: true, step: func(i int, w *sim.World, _ *sim.Chronyd) {
			// Pool members come and go: one dies for a day now and then,
			// and chronyd replaces it from fresh DNS answers.
			for k := 0; k < 20; k++ {
				w.Server(netip.AddrFrom4([4]byte{10, 2, byte(k), 1})).Dead = (i/day(1)+k)%9 == 0
			}
		}, want: func(t *testing.T, f figures) {
			require.LessOrEqual(t, f.changes, 1, "a rotating pool costs at most one change (the agent's own set)")
		}},
		{name: "member starts rate-limiting (KoD)", step: func(i int, w *sim.World, _ *sim.Chronyd) {
			if i >= day(4) {
				w.Server(addrOf(1)).KoD = "RATE"
			}
		}},
		{name: "near-tie", step: func(i int, w *sim.World, _ *sim.Chronyd) {
			// Two servers alternate by small margins around each other.
			a, b := w.Server(addrOf(4)), w.Server(addrOf(5))
			if i%2 == 0 {
				a.Jitter, b.Jitter = 0.00040, 0.00046
			} else {
				a.Jitter, b.Jitter = 0.00046, 0.00040
			}
		}, want: atMost(2)},
	}
}

func TestSoak(t *testing.T) {
	days := *soakDays
	if days == 0 {
		days, _ = strconv.Atoi(os.Getenv("NTP_OPTIMIZER_SOAK_DAYS"))
	}
	if days == 0 {
		days = 10
	}
	for k, tl := range timelines() {
		t.Run(tl.name, func(t *testing.T) {
			t.Parallel()
			f := soak(t, tl, uint64(k+1), days)
			t.Logf("%-36s %s", tl.name, f)
			require.Zero(t, f.violations, "invariant violations")
			require.Zero(t, f.healthyBlacklisted, "healthy servers blacklisted")
			require.LessOrEqual(t, f.maxPackets, 8, "packets per address per run")
			if tl.want != nil {
				tl.want(t, f)
			}
		})
	}
}

// countingTransport answers every webhook POST with 204 and counts them.
type countingTransport struct{ n int }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	_, _ = io.Copy(io.Discard, r.Body)
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
}

func soak(t *testing.T, tl timeline, seed uint64, days int) figures {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	w := sim.NewWorld(seed, start)
	var names []string
	for _, s := range soakServers() {
		w.Add(s)
		names = append(names, s.Name)
	}
	dir := t.TempDir()
	c := &sim.Chronyd{W: w, SourcesFile: filepath.Join(dir, "sources.d", chronylive.SourcesFileName)}
	require.NoError(t, os.MkdirAll(filepath.Dir(c.SourcesFile), 0o755))
	if tl.pool {
		p := &sim.Pool{Name: "pool.sim.test", PerAnswer: 4}
		for k := 0; k < 20; k++ {
			s := &sim.Server{Name: fmt.Sprintf("p%02d.pool.sim.test", k), Addr: netip.AddrFrom4([4]byte{10, 2, byte(k), 1}),
				Delay: 0.010 + 0.002*float64(k), Jitter: 0.0004, RootDelay: 0.01, RootDisp: 0.001, Stratum: 2,
				RefID: fmt.Sprintf("198.51.100.%d", k)}
			w.Add(s)
			p.Members = append(p.Members, s.Addr)
		}
		w.AddPool(p)
		c.Pools = []sim.Pooled{{Name: p.Name, MaxSources: 4}}
		names = names[:6]
	} else {
		first := 1
		if tl.poor {
			first = 7
		}
		for i := first; i < first+4; i++ {
			c.Servers = append(c.Servers, addrOf(i))
		}
	}
	c.Start()

	hooks := &countingTransport{}
	n, err := notify.New(notify.Config{Webhook: notify.WebhookConfig{Enabled: true, URL: "https://hooks.sim.test/ntp",
		SendOnChange: true, SendOnError: true, Timeout: time.Second}}, notify.Options{HTTPClient: &http.Client{Transport: hooks},
		Clock: w.Clock, Hostname: func() (string, error) { return "soak", nil }})
	require.NoError(t, err)
	backend := &chronylive.Backend{Config: chronylive.Config{SourceOptions: "iburst"}, Client: c,
		File: &chronylive.SourcesFile{Path: c.SourcesFile}, Log: zerolog.Nop(), Clock: w.Clock,
		Pools: []string{"pool.sim.test"}}
	disc := discovery.DefaultConfig()
	disc.Servers, disc.NoDiscovery = names, true
	pr := &sim.Prober{W: w}
	a := &agent.Agent{
		// The simulated chronyd has no noselect sources: the soak measures
		// with the probe (auditions: audition_test.go, chronylive's tests).
		Settings: agent.Settings{Discovery: disc, Scoring: scoring.DefaultConfig(), Policy: daemon.PolicyConverge,
			HistoryRetention: 7 * 24 * time.Hour, Measure: agent.MeasureProbe},
		Backend:    backend,
		Discoverer: &discovery.Discoverer{Root: dir, Getenv: func(string) string { return "UTC" }, Clock: w.Clock, Log: zerolog.Nop()},
		Prober:     pr,
		Store:      &agent.Store{Dir: filepath.Join(dir, "state"), Logger: zerolog.Nop(), Clock: w.Clock},
		Notifier:   n,
		Log:        zerolog.Nop(),
		Clock:      w.Clock,
	}
	cfg := a.Scoring

	f := figures{deadReplacedIn: -1}
	badRuns := map[netip.Addr]int{} // consecutive runs a chronyd source has been bad in truth
	var deathRun = -1
	total := day(days)
	for i := 0; i < total; i++ {
		if tl.step != nil {
			tl.step(i, w, c)
		}
		w.Clock.Advance(runEvery)
		before := c.View()
		w.ResetPackets()
		rep, err := a.Run(context.Background(), agent.Options{})
		after := c.View()
		f.runs++
		fail := func(format string, args ...any) {
			f.violations++
			if f.violations <= 5 {
				t.Errorf("run %d (day %.2f), outcome %s: %s", i, float64(i)/4, outcomeOf(rep), fmt.Sprintf(format, args...))
			}
		}
		if rep != nil && rep.Outcome == agent.OutcomeApplied {
			f.changes++
		}
		if rep != nil && rep.Outcome == agent.OutcomeOutage {
			f.outageRuns++
		}

		// The invariant.
		if before != nil && after != nil {
			wb, wa := working(before), working(after)
			if wa < min(wb, cfg.SetSize) {
				fail("working sources %d → %d", wb, wa)
			}
			if wb >= cfg.MinSetSize && wa < cfg.MinSetSize {
				fail("below min_set_size: %d → %d", wb, wa)
			}
			for _, v := range after {
				if slices.ContainsFunc(before, func(b sim.View) bool { return b.Addr == v.Addr }) || v.Pool != "" {
					continue
				}
				if s := w.Server(v.Addr); s == nil || s.Bad() {
					fail("added %s, which is bad in truth", v.Addr)
				}
				if !pr.Answered[v.Addr] {
					fail("added %s, which did not answer this run's probe", v.Addr)
				}
			}
			changed := !sameSet(before, after)
			switch {
			case rep == nil:
				fail("no report: %v", err)
			case rep.Outcome == agent.OutcomeApplied && !changed:
				fail("outcome applied, but chronyd's set is the same")
			case rep.Outcome != agent.OutcomeApplied && changed:
				fail("outcome %s, but chronyd's set changed", rep.Outcome)
			}
		}
		if w.NetDown && c.Up() && (rep == nil || rep.Outcome != agent.OutcomeOutage) {
			fail("the network is down, but the outcome is %s", outcomeOf(rep))
		}
		if rep != nil && rep.Outcome == agent.OutcomeOutage && !w.NetDown && !w.DNSDown {
			fail("outcome outage with the network up: %s", rep.Reason)
		}
		for a, n := range w.Packets() {
			f.maxPackets = max(f.maxPackets, n)
			if n > 8 {
				fail("%d packets to %s", n, a)
			}
		}
		st, _, err := a.Store.PeekState()
		if err != nil {
			fail("state not parseable: %v", err)
		}
		for addr, e := range st.Scoring.Blacklist {
			if e.Since.Equal(rep.Time) {
				if s := w.Server(addr); s != nil && !s.Dead && s.Loss < 0.5 && s.KoD == "" {
					f.healthyBlacklisted++
					t.Logf("run %d: healthy %s blacklisted: %s (%v)", i, addr, e.Reason, e.Evidence)
				}
			}
		}

		// How good is the set, given the stability rules?
		spare := false
		for _, s := range w.Servers() {
			if !s.Bad() && s.Loss == 0 && !slices.ContainsFunc(after, func(v sim.View) bool { return v.Addr == s.Addr }) {
				spare = true
			}
		}
		ok := true
		for _, v := range after {
			s := w.Server(v.Addr)
			if v.Pool != "" || s == nil {
				continue
			}
			if s.Bad() && !w.NetDown {
				badRuns[v.Addr]++
			} else {
				delete(badRuns, v.Addr)
			}
			if badRuns[v.Addr] > cfg.StabilityThreshold && spare {
				ok = false
			}
		}
		if ok {
			f.optimal++
		}
		if s := w.Server(addrOf(1)); s.Dead && deathRun < 0 {
			deathRun = i
		}
		if deathRun >= 0 && f.deadReplacedIn < 0 && !slices.ContainsFunc(after, func(v sim.View) bool { return v.Addr == addrOf(1) }) {
			f.deadReplacedIn = i - deathRun + 1
		}
	}
	f.optimal /= float64(f.runs)
	f.changesPer30d = float64(f.changes) / float64(days) * 30
	f.notifications = hooks.n
	_, _, f.poolRefills = c.Counts()
	return f
}

func outcomeOf(r *agent.Report) string {
	if r == nil {
		return "none"
	}
	return string(r.Outcome)
}

func working(vs []sim.View) int {
	n := 0
	for _, v := range vs {
		if v.Working && v.Pool == "" {
			n++
		}
	}
	return n
}

// sameSet compares the sources the agent manages (not chronyd's pool).
func sameSet(a, b []sim.View) bool {
	set := func(vs []sim.View) string {
		var s []string
		for _, v := range vs {
			if v.Pool == "" {
				s = append(s, v.Addr.String())
			}
		}
		slices.Sort(s)
		return strings.Join(s, " ")
	}
	return set(a) == set(b)
}
