package main

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/config"
)

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show each server's score, offset and jitter over the stored runs",
		ArgsUsage: "[SERVER]",
		Description: "Reads the run history in the state directory (kept history.retention_days,\n" +
			"30 by default) and prints one line per server: how many runs measured it, its\n" +
			"latest score, a sparkline of its score (▁ = 0 … █ = 100, blank = no reply),\n" +
			"the mean offset and jitter, how often it was selected, its verdict and whether\n" +
			"it was used with NTS in the latest run (Auth: NTS, or - for plain NTP). Outage\n" +
			"runs (nothing answered here: this machine's network, not the servers) are drawn\n" +
			"× and left out of the figures. SERVER keeps the servers whose name or address\n" +
			"contains it.",
		Flags: append(config.Flags("paths.state_dir"),
			&cli.StringFlag{Name: "since", Value: "7d", Usage: "how far back: a duration like 36h, 7d, or a number of days"},
			&cli.BoolFlag{Name: "json", Usage: "print every server's per-run points as JSON"},
		),
		Action: runHistory,
	}
}

func runHistory(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageError(fmt.Errorf("history takes at most one SERVER, got %q", c.Args().Slice()))
	}
	since, err := config.ParseDuration(c.String("since"), 24*time.Hour)
	if err != nil || since <= 0 {
		return usageError(fmt.Errorf("--since %q: want a duration like 36h, 7d, or a number of days", c.String("since")))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	st := &agent.Store{Dir: l.Config.Paths.StateDir, Logger: logger(c)}
	runs, err := st.LoadHistory(clockOf(c).Now().Add(-since))
	if err != nil {
		return err
	}
	trends := agent.Trends(runs, c.Args().First())
	outages := outageRuns(runs)
	if len(outages) > 0 {
		trends = orderedWithout(trends, runs, outages, c.Args().First())
	}
	auth := pointAuth(runs)
	if c.Bool("json") {
		return writeJSON(c.App.Writer, struct {
			Servers []historyTrend `json:"servers"`
		}{historyJSON(trends, outages, auth)})
	}
	if len(runs) == 0 {
		fmt.Fprintf(c.App.Writer, "no runs in the last %s in %s\n", since, l.Config.Paths.StateDir)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "%d runs from %s to %s\n", len(runs),
		runs[0].Time.UTC().Format(time.DateTime), runs[len(runs)-1].Time.UTC().Format(time.DateTime+" UTC"))
	if len(outages) > 0 {
		fmt.Fprintf(c.App.Writer, "%d of them outages (×: nothing answered; nothing was changed or counted)\n", len(outages))
		if last := runs[len(runs)-1]; last.Outcome == agent.OutcomeOutage {
			fmt.Fprintf(c.App.Writer, "the latest run was an outage: %s\n", last.Reason)
		}
	}
	fmt.Fprintln(c.App.Writer)
	return writeTrendTable(c.App.Writer, trends, outages, auth)
}

// outageRuns are the IDs of the runs that ended in an outage.
func outageRuns(runs []agent.Report) map[string]bool {
	out := map[string]bool{}
	for _, r := range runs {
		if r.Outcome == agent.OutcomeOutage {
			out[r.RunID] = true
		}
	}
	return out
}

// orderedWithout orders trends as agent.Trends does, but by the latest run
// that was not an outage: in an outage every server is "rejected" for no
// fault of its own. Servers seen only in outage runs come last.
func orderedWithout(trends []agent.Trend, runs []agent.Report, outages map[string]bool, filter string) []agent.Trend {
	var kept []agent.Report
	for _, r := range runs {
		if !outages[r.RunID] {
			kept = append(kept, r)
		}
	}
	rank := map[netip.Addr]int{}
	for i, t := range agent.Trends(kept, filter) {
		rank[t.Address] = i
	}
	out := slices.Clone(trends)
	slices.SortStableFunc(out, func(a, b agent.Trend) int {
		ra, oka := rank[a.Address]
		rb, okb := rank[b.Address]
		switch {
		case oka && okb:
			return cmp.Compare(ra, rb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	return out
}

// sparkRuns is how many of a server's latest runs its sparkline shows, so
// a long history does not draw a line thousands of characters wide.
const sparkRuns = 60

// outageMark draws an outage run in a sparkline.
const outageMark = '×'

// historyPoint is a trend point with its run's outage marked and the
// server's authentication in that run, for --json.
type historyPoint struct {
	agent.TrendPoint
	Outage bool `json:"outage,omitempty"`
	// Auth is "nts" when the server was used with NTS in that run
	// (scoring.Measurement.Auth); left out for plain NTP.
	Auth string `json:"auth,omitempty"`
}

// runServer names one server in one run.
type runServer struct {
	runID string
	addr  netip.Addr
}

// pointAuth is each run's servers' authentication, from the stored
// candidates (agent.TrendPoint does not carry it): "nts" for a server used
// with NTS; plain servers are left out.
func pointAuth(runs []agent.Report) map[runServer]string {
	out := map[runServer]string{}
	for _, r := range runs {
		for _, c := range r.Candidates {
			if c.Auth != "" && c.Address.IsValid() {
				out[runServer{r.RunID, c.Address}] = c.Auth
			}
		}
	}
	return out
}

// historyTrend is agent.Trend with its points marked.
type historyTrend struct {
	agent.Trend
	Points []historyPoint `json:"runs"`
}

func historyJSON(trends []agent.Trend, outages map[string]bool, auth map[runServer]string) []historyTrend {
	out := make([]historyTrend, len(trends))
	for i, t := range trends {
		out[i] = historyTrend{Trend: t, Points: make([]historyPoint, len(t.Points))}
		for j, p := range t.Points {
			out[i].Points[j] = historyPoint{TrendPoint: p, Outage: outages[p.RunID],
				Auth: auth[runServer{p.RunID, t.Address}]}
		}
	}
	return out
}

// writeTrends prints the per-server table without authentication: every
// server's Auth is -.
func writeTrends(w io.Writer, trends []agent.Trend, outages map[string]bool) error {
	return writeTrendTable(w, trends, outages, nil)
}

// writeTrendTable prints the per-server table. The points of outage runs
// are drawn × in the sparkline and left out of the other columns: nothing
// answered in them, whatever the server. Auth is the server's
// authentication in the latest run that was not an outage, beside its
// verdict then (Now): "selected NTS" is a server selected with NTS. It is
// the last column so the others keep their places.
func writeTrendTable(w io.Writer, trends []agent.Trend, outages map[string]bool, auth map[runServer]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	trend := "Trend (score)"
	for _, t := range trends {
		if len(t.Points) > sparkRuns {
			trend = fmt.Sprintf("Trend (score, last %d runs)", sparkRuns)
		}
	}
	fmt.Fprintf(tw, "Server\tAddress\tRuns\tScore\t%s\tOffset(ms)\tJitter(ms)\tSelected\tNow\tAuth\n", trend)
	for _, t := range trends {
		scores := make([]float64, len(t.Points))
		measured := make([]bool, len(t.Points))
		var off, jit float64
		var last *agent.TrendPoint
		runs, n, sel := 0, 0, 0
		for i, p := range t.Points {
			scores[i], measured[i] = p.Score, p.Measured
			if outages[p.RunID] {
				continue
			}
			runs++
			last = &t.Points[i]
			if p.Measured {
				off += p.Offset
				jit += p.Jitter
				n++
			}
			if p.Verdict == "selected" {
				sel++
			}
		}
		// The sparkline shows the latest sparkRuns runs; the other
		// columns cover them all.
		from := max(0, len(t.Points)-sparkRuns)
		spark := []rune(agent.Sparkline(scores[from:], measured[from:], 0, 100))
		for i, p := range t.Points[from:] {
			if outages[p.RunID] && i < len(spark) {
				spark[i] = outageMark
			}
		}
		score, mo, mj, now, au := "-", "-", "-", "-", "-"
		if last != nil {
			now = string(last.Verdict)
			au = tableAuth(auth[runServer{last.RunID, t.Address}])
			if last.Measured {
				score = fmt.Sprintf("%.1f", last.Score)
			}
		}
		if n > 0 {
			mo = fmt.Sprintf("%+.3f", off/float64(n)*1e3)
			mj = fmt.Sprintf("%.3f", jit/float64(n)*1e3)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", t.Server, t.Address, runs, score,
			string(spark), mo, mj, sel, runs, now, au)
	}
	return tw.Flush()
}
