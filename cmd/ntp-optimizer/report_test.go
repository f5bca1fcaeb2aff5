package main

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/sys/unix"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// reportNow is "now" for the report tests: the history is placed before it
// and the command runs on a clock reading it.
var reportNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// The synthetic history's servers.
const (
	repA = "192.0.2.1" // selected throughout
	repB = "192.0.2.2" // selected, removed in r06, silent in r08
	repC = "192.0.2.3" // standby, added in r06
	repD = "192.0.2.4" // a falseticker from r04 on
)

// reportCand is a candidate of a stored run: ok samples of 4, the offset
// in seconds.
func reportCand(addr string, score float64, ok int, v scoring.Verdict, offset float64, reason string) agent.CandidateReport {
	c := historyCand(addr, score, ok, v)
	c.Name = map[string]string{repA: "a.example.org", repB: "b.example.org", repC: "c.example.org", repD: "d.example.org"}[addr]
	c.Offset, c.Jitter, c.Reason = offset, 0.0002+offset/100, reason
	return c
}

func change(addr, reason string) scoring.Change {
	return scoring.Change{Address: netip.MustParseAddr(addr), Server: reportCand(addr, 0, 0, "", 0, "").Name, Reason: reason}
}

// reportRun is stored run i (1..10) of the synthetic history: every 6 h,
// r10 6 h before reportNow.
//
//	r01 applied: + A, B           r06 applied: + C − B
//	r07 outage (nothing answered) r08 B does not answer
//	r09 dry run: + D − A          r10 rolled back: + D − A
//
// On the charts: A 9 points, B 8, C 9, D 6 (r04..r10 without the outage):
// 4 series, 32 points each. On the timeline: A, B and C, 10 runs.
func reportRun(i int) *agent.Report {
	id := "r" + strconv.Itoa(100 + i)[1:]
	r := &agent.Report{RunID: id, Time: reportNow.Add(-time.Duration(11-i) * 6 * time.Hour),
		Outcome: agent.OutcomeUnchanged, Backend: "chrony"}
	off := float64(i) * 1e-4
	if i == 7 {
		r.Outcome, r.Reason = agent.OutcomeOutage, "network outage: none of the 4 servers probed answered"
		for _, a := range []string{repA, repB, repC, repD} {
			r.Candidates = append(r.Candidates, reportCand(a, 0, 0, scoring.Rejected, 0, "no reply"))
		}
		return r
	}
	bOK := 4
	if i == 8 {
		bOK = 0
	}
	if i < 6 {
		r.Selected = []string{repA, repB}
		r.Candidates = []agent.CandidateReport{reportCand(repA, 95, 4, scoring.Selected, off, "best"),
			reportCand(repB, 90-float64(i), bOK, scoring.Selected, -off, "second"),
			reportCand(repC, 80+float64(i), 4, scoring.Standby, 2*off, "not needed")}
	} else {
		r.Selected = []string{repA, repC}
		r.Candidates = []agent.CandidateReport{reportCand(repA, 95, 4, scoring.Selected, off, "best"),
			reportCand(repC, 88, 4, scoring.Selected, 2*off, "second"),
			reportCand(repB, 70, bOK, scoring.Standby, -off, "score fell")}
	}
	if i >= 4 {
		r.Candidates = append(r.Candidates, reportCand(repD, 40, 4, scoring.Rejected, 0.25, "falseticker: outside the majority's interval"))
	}
	switch i {
	case 1:
		r.Outcome, r.Added = agent.OutcomeApplied, []scoring.Change{change(repA, "new: score 95"), change(repB, "new: score 89")}
	case 6:
		r.Outcome = agent.OutcomeApplied
		r.Added = []scoring.Change{change(repC, "score 88 beat b.example.org's 70 by more than the margin")}
		r.Removed = []scoring.Change{change(repB, "replaced: score 70 below c.example.org's 88")}
	case 9, 10:
		r.Outcome = agent.OutcomeDryRun
		r.Selected = []string{repC, repD}
		r.Added = []scoring.Change{change(repD, "trial: score 40")}
		r.Removed = []scoring.Change{change(repA, "trial removal")}
		if i == 10 {
			r.Outcome, r.Reason = agent.OutcomeRolledBack, "verification failed: d.example.org not reachable after 60 s"
			r.RolledBack = true
		}
	}
	return r
}

// reportEvidence is the silent blacklist entry's evidence.
var reportEvidence = []string{
	"2026-02-28T22:00:00Z: no reply to 4 samples (probe); 3 of 3 others measured so answered",
	"2026-03-01T04:00:00Z: no reply to 4 samples (probe); 3 of 3 others measured so answered",
}

// reportState writes the synthetic history and a state with a silent
// blacklist entry, a lifted KoD entry and an address counting toward the
// blacklist into a new state directory.
func reportState(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s := &agent.Store{Dir: dir, Logger: zerolog.Nop()}
	for i := 1; i <= 10; i++ {
		require.NoError(t, s.SaveRun(reportRun(i)))
	}
	st := agent.State{Counters: agent.Counters{Runs: 10, Changes: 2, Rollbacks: 1, Outages: 1}, Scoring: scoring.State{
		Blacklist: map[netip.Addr]scoring.BlacklistEntry{
			netip.MustParseAddr("192.0.2.9"): {Name: "e.example.org", Reason: "no reply in 3 runs in a row",
				Kind: scoring.BlacklistSilent, Since: reportNow.Add(-2 * time.Hour), Until: reportNow.Add(22 * time.Hour),
				Count: 1, Evidence: reportEvidence},
			netip.MustParseAddr(repD): {Name: "d.example.org", Reason: "kiss-o'-death RSTR", Kind: scoring.BlacklistKoD,
				Since: reportNow.Add(-50 * time.Hour), Until: reportNow.Add(-26 * time.Hour), Count: 1,
				Lifted: reportNow.Add(-40 * time.Hour)},
		},
		Failures: map[netip.Addr]int{netip.MustParseAddr("192.0.2.10"): 2},
		Evidence: map[netip.Addr][]string{netip.MustParseAddr("192.0.2.10"): {"2026-03-01T06:00:00Z: no reply to 4 samples (probe)"}},
	}}
	require.NoError(t, s.SaveState(st))
	return dir
}

// htmlNode finds the nodes below n for which match holds, in document order.
func htmlNodes(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

func element(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == name }
}

// pageCounts is what a rendered page holds: per chart its series and
// their points, the timeline's lanes (bars each) and runs.
type pageCounts struct {
	Series map[string]int            // chart -> series
	Points map[string]int            // chart -> circles in its series
	PerSrv map[string]map[string]int // chart -> server -> circles
	Lanes  map[string]int            // server -> bars
	Runs   int
}

// countPage parses a page (the file, or Chromium's DOM after load) and
// counts what its SVG draws, checking the data- attributes agree.
func countPage(t *testing.T, page string) pageCounts {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	pc := pageCounts{Series: map[string]int{}, Points: map[string]int{}, PerSrv: map[string]map[string]int{}, Lanes: map[string]int{}}
	for _, svg := range htmlNodes(doc, func(n *html.Node) bool { return element("svg")(n) && hasClass(n, "chart") }) {
		id := attr(svg, "data-chart")
		pc.PerSrv[id] = map[string]int{}
		series := htmlNodes(svg, func(n *html.Node) bool { return element("g")(n) && hasClass(n, "series") })
		pc.Series[id] = len(series)
		require.Equal(t, strconv.Itoa(len(series)), attr(svg, "data-series"), id)
		for _, g := range series {
			circles := htmlNodes(g, element("circle"))
			require.Equal(t, strconv.Itoa(len(circles)), attr(g, "data-points"), "%s %s", id, attr(g, "data-server"))
			require.Len(t, htmlNodes(g, element("path")), 1)
			for _, c := range circles {
				require.NotEmpty(t, htmlNodes(c, element("title")), "every point has a tooltip")
			}
			pc.Points[id] += len(circles)
			pc.PerSrv[id][attr(g, "data-server")] = len(circles)
		}
		require.Equal(t, strconv.Itoa(pc.Points[id]), attr(svg, "data-points"), id)
	}
	for _, g := range htmlNodes(doc, func(n *html.Node) bool { return element("g")(n) && hasClass(n, "lane") }) {
		pc.Lanes[attr(g, "data-server")] = len(htmlNodes(g, element("rect")))
	}
	pc.Runs = len(htmlNodes(doc, func(n *html.Node) bool {
		return element("rect")(n) && hasClass(n, "run") &&
			n.Parent != nil && hasClass(n.Parent, "runs")
	}))
	return pc
}

// requireSelfContained: nothing on the page loads from elsewhere.
func requireSelfContained(t *testing.T, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		require.NotContains(t, []string{"script", "link", "img", "iframe", "object", "embed"}, n.Data, "no scripts or external resources")
		for _, a := range n.Attr {
			require.False(t, strings.HasPrefix(a.Key, "on"), "no event handlers: <%s %s>", n.Data, a.Key)
			switch a.Key {
			case "src", "href", "xlink:href", "srcset", "action", "data":
				require.Failf(t, "a reference on the page", "<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
	}
	require.NotRegexp(t, `https?://|url\(|@import`, page)
}

func TestReportPage(t *testing.T) {
	dir := reportState(t)
	out := filepath.Join(t.TempDir(), "report.html")
	stdout, stderr, code := runAt(t, reportNow, "report", "--state-dir", dir, "-o", out)
	require.Zero(t, code, stderr)
	require.Empty(t, stdout, "with -o nothing goes to standard output")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	page := string(b)
	fi, err := os.Stat(out)
	require.NoError(t, err)
	require.Zero(t, fi.Mode().Perm()&0o133, "0644 at most: %v", fi.Mode())

	requireSelfContained(t, page)
	pc := countPage(t, page)
	per := map[string]int{repA: 9, repB: 8, repC: 9, repD: 6}
	for _, ch := range []string{"offset", "jitter", "score"} {
		require.Equal(t, 4, pc.Series[ch], ch)
		require.Equal(t, 32, pc.Points[ch], ch)
		require.Equal(t, per, pc.PerSrv[ch], ch)
	}
	require.Equal(t, map[string]int{repA: 1, repB: 1, repC: 1}, pc.Lanes,
		"the dry run and the rollback did not change the set; D was never in it")
	require.Equal(t, 10, pc.Runs)

	for _, want := range []string{
		// the last decision, rolled back, with the reason and every candidate
		"run <code>r10</code>", "rolled-back", "verification failed: d.example.org not reachable after 60 s",
		"Decided, not applied", "In use since the latest run that applied a set or found it in place: <span class=\"set\">a.example.org (192.0.2.1), c.example.org (192.0.2.3)</span>",
		"falseticker: outside the majority&#39;s interval",
		// the changes, each with its reason
		"score 88 beat b.example.org&#39;s 70 by more than the margin", "replaced: score 70 below c.example.org&#39;s 88",
		"new: score 95", "dry run: nothing was changed", "trial removal",
		// the blacklist with its evidence, the lifted entry and the failures
		"e.example.org", "no reply in 3 runs in a row", reportEvidence[0], reportEvidence[1],
		"kiss-o&#39;-death RSTR", "lifted 2026-02-27 20:00 UTC", "192.0.2.10",
		"2026-03-01T06:00:00Z: no reply to 4 samples (probe)",
		// axes with units and a tooltip per point
		">ms</text>", ">0–100</text>", "<title>a.example.org (192.0.2.1), 2026-03-01 06:00 UTC: &#43;1.000 ms</title>",
	} {
		require.Contains(t, page, want)
	}
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	require.Len(t, htmlNodes(doc, func(n *html.Node) bool { return element("tr")(n) && hasClass(n, "change") }), 4,
		"r01, r06, the dry run r09 and the rollback r10")
	legends := htmlNodes(doc, func(n *html.Node) bool { return element("ul")(n) && hasClass(n, "legend") })
	require.Len(t, legends, 3)
	for _, l := range legends {
		require.Len(t, htmlNodes(l, element("li")), 4)
	}
}

// TestReportDeterministic: the same history gives the same bytes, and a
// server has the same colour in every chart and on the timeline.
func TestReportDeterministic(t *testing.T) {
	dir := reportState(t)
	first, stderr, code := runAt(t, reportNow, "report", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.True(t, strings.HasPrefix(first, "<!DOCTYPE html>"), "standard output by default")
	for range 3 {
		again, _, _ := runAt(t, reportNow, "report", "--state-dir", dir, "-o", "-")
		require.Equal(t, first, again)
	}
	doc, err := html.Parse(strings.NewReader(first))
	require.NoError(t, err)
	colours := map[string]map[string]bool{}
	for _, g := range htmlNodes(doc, func(n *html.Node) bool { return hasClass(n, "series") || hasClass(n, "lane") }) {
		srv := attr(g, "data-server")
		if colours[srv] == nil {
			colours[srv] = map[string]bool{}
		}
		c := attr(g, "fill")
		if hasClass(g, "lane") {
			c = attr(htmlNodes(g, element("rect"))[0], "fill")
		}
		colours[srv][c] = true
	}
	require.Len(t, colours, 4)
	seen := map[string]bool{}
	for srv, cs := range colours {
		require.Len(t, cs, 1, "%s has one colour", srv)
		for c := range cs {
			require.False(t, seen[c], "%s's colour %s is its own", srv, c)
			seen[c] = true
		}
	}
	require.Equal(t, map[string]bool{palette[0]: true}, colours[repA], "colours go by address order")
}

func TestReportSince(t *testing.T) {
	dir := reportState(t)
	page, stderr, code := runAt(t, reportNow, "report", "--state-dir", dir, "--since", "15h")
	require.Zero(t, code, stderr)
	pc := countPage(t, page)
	require.Equal(t, 4, pc.Series["score"])
	require.Equal(t, 8, pc.Points["score"], "r09 and r10, each server measured")
	require.Equal(t, 2, pc.Runs)
	require.Contains(t, page, "2 stored runs in the window")
	require.NotContains(t, page, "score 88 beat", "r06 is before the window")

	for _, bad := range []string{"0", "-3d", "soon", ""} {
		_, stderr, code = runAt(t, reportNow, "report", "--state-dir", dir, "--since", bad)
		require.Equal(t, exitUsage, code, "--since %q: %s", bad, stderr)
	}
	_, stderr, code = runAt(t, reportNow, "report", "--state-dir", dir, "report.html")
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, "-o FILE")

	missing := filepath.Join(t.TempDir(), "no-such-dir", "report.html")
	_, stderr, code = runAt(t, reportNow, "report", "--state-dir", dir, "-o", missing)
	require.Equal(t, exitFailure, code, stderr)
	require.Contains(t, stderr, "write the report to "+missing+": stat "+filepath.Dir(missing)+": no such file or directory")
}

// TestReportEmpty: a state directory without runs still gives a page that
// says so.
func TestReportEmpty(t *testing.T) {
	dir := t.TempDir()
	page, stderr, code := runAt(t, reportNow, "report", "--state-dir", dir)
	require.Zero(t, code, stderr)
	requireSelfContained(t, page)
	require.Contains(t, page, "No run has been recorded")
	require.Contains(t, page, "No change in the window.")
	require.Contains(t, page, "No server is or was blacklisted.")
	require.NotContains(t, page, `class="chart"`)
}

// TestReportEscapes: names and reasons come from DNS, the configuration
// and remote servers; none of them becomes markup, in HTML or in SVG.
func TestReportEscapes(t *testing.T) {
	dir := t.TempDir()
	s := &agent.Store{Dir: dir, Logger: zerolog.Nop()}
	evil := `<script>alert(1)</script>"><svg onload=x>`
	c := reportCand(repA, 90, 4, scoring.Selected, 0.001, evil)
	c.Name = evil
	require.NoError(t, s.SaveRun(&agent.Report{RunID: "r1", Time: reportNow.Add(-time.Hour), Outcome: agent.OutcomeApplied,
		Selected: []string{repA}, Candidates: []agent.CandidateReport{c},
		Added: []scoring.Change{{Address: netip.MustParseAddr(repA), Server: evil, Reason: evil}}}))
	page, stderr, code := runAt(t, reportNow, "report", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.NotContains(t, page, "<script")
	require.NotContains(t, page, "<svg onload")
	requireSelfContained(t, page)
	require.Equal(t, 1, countPage(t, page).Points["offset"])
}

// TestReportDecisionFile: the current set comes from last-decision.json;
// one that is a symbolic link is not followed (the latest run is used).
func TestReportDecisionFile(t *testing.T) {
	dir := reportState(t)
	d, err := readDecision(dir)
	require.NoError(t, err)
	require.Equal(t, "r10", d.RunID)

	other := filepath.Join(t.TempDir(), "decision.json")
	require.NoError(t, os.WriteFile(other, []byte(`{"run_id":"elsewhere"}`), 0o600))
	p := filepath.Join(dir, "last-decision.json")
	require.NoError(t, os.Remove(p))
	require.NoError(t, os.Symlink(other, p))
	_, err = readDecision(dir)
	require.Error(t, err)
	page, stderr, code := runAt(t, reportNow, "report", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Contains(t, stderr, "last-decision.json")
	require.NotContains(t, page, "elsewhere")
	require.Contains(t, page, "run <code>r10</code>", "the latest stored run stands in")
}

func TestReportAxes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lo, hi float64
		fixed  bool
		want   []string
	}{
		{name: "score", lo: 0, hi: 100, fixed: true, want: []string{"0", "20", "40", "60", "80", "100"}},
		{name: "offset around 0", lo: -0.4, hi: 1.3, want: []string{"-0.5", "0.0", "0.5", "1.0", "1.5"}},
		{name: "jitter", lo: 0, hi: 0.23, want: []string{"0.00", "0.05", "0.10", "0.15", "0.20", "0.25"}},
		{name: "flat", lo: 0, hi: 0, want: []string{"-0.0010", "-0.0005", "0.0000", "0.0005", "0.0010"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newValueAxis(tc.lo, tc.hi, tc.fixed, 0, 100)
			var got []string
			for _, tk := range a.ticks {
				got = append(got, tk.Label)
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, float64(100), a.y(a.lo))
			require.Equal(t, float64(0), a.y(a.hi))
		})
	}
	for _, tc := range []struct {
		name  string
		span  time.Duration
		first string
		n     int
	}{
		{name: "30 days", span: 30 * 24 * time.Hour, first: "Feb 2", n: 4},
		{name: "2 days", span: 48 * time.Hour, first: "Feb 27 12:00", n: 5},
		{name: "one run", span: 0, first: "Mar 1 11:30", n: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTimeAxis(reportNow.Add(-tc.span), reportNow)
			require.Len(t, a.ticks, tc.n)
			require.Equal(t, tc.first, a.ticks[0].Label)
			require.Equal(t, float64(svgLeft), a.x(a.from))
			require.Equal(t, float64(svgWidth-svgRight), a.x(a.to))
		})
	}
}

// openPTY opens a pseudo-terminal and returns its terminal end; what is
// written to it is read and dropped.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	go func() { _, _ = io.Copy(io.Discard, ptmx) }() // drained, so writes never block
	require.NoError(t, unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { tty.Close() })
	return tty
}

// TestReportTerminal: the page is not poured onto a terminal unless -o -
// asks for it.
func TestReportTerminal(t *testing.T) {
	tty := openPTY(t)
	run := func(args ...string) (string, int) {
		appMu.Lock()
		defer appMu.Unlock()
		app := newApp()
		app.Metadata = map[string]any{clockKey: clocktest.NewStepper(reportNow)}
		var errOut strings.Builder
		app.Writer, app.ErrWriter = tty, &errOut
		err := app.Run(append([]string{"ntp-optimizer", "--log-level", "error", "report", "--state-dir", t.TempDir()}, args...))
		if err != nil {
			f, _ := os.CreateTemp(t.TempDir(), "err")
			return err.Error(), exitCode(err, f)
		}
		return errOut.String(), 0
	}
	msg, code := run()
	require.Equal(t, exitUsage, code, msg)
	require.Contains(t, msg, "standard output is a terminal: write the page with -o report.html")
	msg, code = run("-o", "-")
	require.Zero(t, code, msg)
}
