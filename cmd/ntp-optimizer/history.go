package main

import (
	"fmt"
	"io"
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
			"the mean offset and jitter, and how often it was selected. SERVER keeps the\n" +
			"servers whose name or address contains it.",
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
	if c.Bool("json") {
		return writeJSON(c.App.Writer, trends)
	}
	if len(runs) == 0 {
		fmt.Fprintf(c.App.Writer, "no runs in the last %s in %s\n", since, l.Config.Paths.StateDir)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "%d runs from %s to %s\n\n", len(runs),
		runs[0].Time.UTC().Format(time.DateTime), runs[len(runs)-1].Time.UTC().Format(time.DateTime+" UTC"))
	return writeTrends(c.App.Writer, trends)
}

// writeTrends prints the per-server table.
func writeTrends(w io.Writer, trends []agent.Trend) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Server\tAddress\tRuns\tScore\tTrend (score)\tOffset(ms)\tJitter(ms)\tSelected\tNow")
	for _, t := range trends {
		scores := make([]float64, len(t.Points))
		measured := make([]bool, len(t.Points))
		var off, jit float64
		n, sel := 0, 0
		for i, p := range t.Points {
			scores[i], measured[i] = p.Score, p.Measured
			if p.Measured {
				off += p.Offset
				jit += p.Jitter
				n++
			}
			if p.Verdict == "selected" {
				sel++
			}
		}
		last := t.Points[len(t.Points)-1]
		score, mo, mj := "-", "-", "-"
		if last.Measured {
			score = fmt.Sprintf("%.1f", last.Score)
		}
		if n > 0 {
			mo = fmt.Sprintf("%+.3f", off/float64(n)*1e3)
			mj = fmt.Sprintf("%.3f", jit/float64(n)*1e3)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", t.Server, t.Address, len(t.Points), score,
			agent.Sparkline(scores, measured, 0, 100), mo, mj, sel, len(t.Points), last.Verdict)
	}
	return tw.Flush()
}
