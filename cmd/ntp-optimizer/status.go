package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/fallback"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/schedule"
)

func statusCommand() *cli.Command {
	flags := append([]cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print the status as JSON"},
	}, nameFlags()...)
	flags = append(flags, chronyFlags()...)
	flags = append(flags, config.Flags("paths.state_dir")...)
	return &cli.Command{
		Name:  "status",
		Usage: "show chronyd's tracking report (chronyc tracking layout) and the agent's last run, set and timer",
		Description: "The first block is chronyd's tracking report, line for line as chronyc tracking\n" +
			"prints it. The second says which NTP daemon ntp-optimizer manages and how it was\n" +
			"detected, the last run's outcome, the selected and managed sources, the run\n" +
			"counts (outages among them), the active blacklist entries with the last line of\n" +
			"their evidence, and when the systemd timer last ran and runs next.",
		Flags:  flags,
		Action: runStatus,
	}
}

// statusReport is `status --json`.
type statusReport struct {
	Daemon   string                         `json:"daemon"`
	Tracking *chronyctl.Tracking            `json:"tracking,omitempty"`
	LastRun  *agent.RunSummary              `json:"last_run,omitempty"`
	Managed  map[string]agent.ManagedSource `json:"managed"`
	Counters agent.Counters                 `json:"counters"`
	// Blacklist are the active entries; Failures the addresses counting
	// toward the blacklist (ntp-optimizer blacklist list).
	Blacklist []agent.BlacklistItem `json:"blacklist"`
	Failures  []agent.FailureCount  `json:"failures"`
	Timer     timerStatus           `json:"timer"`
}

type timerStatus struct {
	Installed bool      `json:"installed"`
	Last      time.Time `json:"last,omitzero"`
	Next      time.Time `json:"next,omitzero"`
	Note      string    `json:"note,omitempty"`
}

func runStatus(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("status takes no arguments, got %q", c.Args().Slice()))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	cfg := &l.Config
	rep := statusReport{Managed: map[string]agent.ManagedSource{}}
	var (
		cl   *chronyctl.Client
		ctx  context.Context
		done = func() {}
	)
	if cfg.Backend == "auto" || cfg.Backend == "chrony" {
		var derr error
		cl, ctx, done, derr = dialChrony(c, cfg, true)
		if derr == nil {
			defer done()
			t, err := cl.Tracking(ctx)
			if err != nil {
				return err
			}
			rep.Tracking = &t
			rep.Daemon = "chronyd (command socket " + strings.TrimPrefix(cl.Remote(), "unix:") + " answers)"
		} else if chronyOnly(cfg) {
			return derr
		}
	}
	if rep.Tracking == nil {
		services, _ := systemdServices(c.Context)
		d, err := (fallback.Detector{Units: services}).Detect(c.Context)
		if err != nil {
			return fmt.Errorf("chronyd's command socket does not answer and %w", err)
		}
		rep.Daemon = d.String()
	}
	log := logger(c)
	st, _, err := (&agent.Store{Dir: cfg.Paths.StateDir, Logger: log}).PeekState()
	if err != nil {
		log.Warn().Err(err).Msg("agent state not readable")
	}
	rep.LastRun, rep.Managed, rep.Counters = st.LastRun, st.Managed, st.Counters
	bl := agent.Blacklist(&st.Scoring, clockOf(c).Now(), false)
	rep.Blacklist, rep.Failures = bl.Entries, bl.Failures
	rep.Timer = readTimer(c.Context)

	if c.Bool("json") {
		return writeJSON(c.App.Writer, rep)
	}
	w := c.App.Writer
	if rep.Tracking != nil {
		if err := chronyfmt.Tracking(ctx, w, *rep.Tracking, chronyfmt.Options{Names: nameMode(c)}, cl.SourceName); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return writeAgentStatus(w, &rep)
}

// readTimer asks systemd about ntp-optimizer.timer.
func readTimer(ctx context.Context) timerStatus {
	if !systemd.Running("") {
		return timerStatus{Note: "systemd is not running"}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	sd, err := systemd.Connect(ctx)
	if err != nil {
		return timerStatus{Note: err.Error()}
	}
	defer sd.Close()
	tt, err := schedule.ReadTimerTimes(ctx, sd, schedule.TimerName, nil)
	if err != nil {
		return timerStatus{Note: "not installed (ntp-optimizer install): " + err.Error()}
	}
	if tt.Last.IsZero() && tt.Next.IsZero() {
		return timerStatus{Note: "not installed or not enabled (ntp-optimizer install)"}
	}
	return timerStatus{Installed: true, Last: tt.Last, Next: tt.Next}
}

// statusTime is status's time format, chronyc's with the zone.
func statusTime(t time.Time) string { return t.UTC().Format("Mon Jan 02 15:04:05 2006 UTC") }

// statusMore continues a status line's value on the next line.
const statusMore = "                  "

// writeBlacklistStatus prints the active entries, each with its reason,
// the end of its term and the last line of its evidence, and how many
// addresses count toward the blacklist.
func writeBlacklistStatus(w io.Writer, r *statusReport) {
	summary := "none"
	if len(r.Blacklist) > 0 {
		summary = fmt.Sprint(len(r.Blacklist))
	}
	if n := len(r.Failures); n > 0 {
		summary += fmt.Sprintf("; %d address%s not answering, counting toward it", n,
			map[bool]string{true: "", false: "es"}[n == 1])
	}
	if len(r.Blacklist)+len(r.Failures) > 0 {
		summary += " (ntp-optimizer blacklist list)"
	}
	statusLine(w, "Blacklisted", summary)
	for _, e := range r.Blacklist {
		who := e.Address.String()
		if e.Name != "" && e.Name != who {
			who += " (" + e.Name + ")"
		}
		fmt.Fprintf(w, "%s%s until %s: %s\n", statusMore, who, statusTime(e.Until), e.Reason)
		if len(e.Evidence) > 0 {
			fmt.Fprintf(w, "%s  %s\n", statusMore, e.Evidence[len(e.Evidence)-1])
		}
	}
}

// statusLine prints one "Label           : value" line, as chronyc does.
func statusLine(w io.Writer, label, value string) {
	fmt.Fprintf(w, "%-16s: %s\n", label, value)
}

func writeAgentStatus(w io.Writer, r *statusReport) error {
	statusLine(w, "NTP daemon", r.Daemon)
	if lr := r.LastRun; lr != nil {
		what := string(lr.Outcome)
		if lr.Reason != "" {
			what += ": " + lr.Reason
		}
		statusLine(w, "Last run", fmt.Sprintf("%s, %s (run %s, %.1f s)", statusTime(lr.Time), what, lr.RunID, lr.Duration))
		statusLine(w, "Selected", strings.Join(lr.Selected, ", "))
	} else {
		statusLine(w, "Last run", "never (ntp-optimizer apply)")
	}
	managed := make([]string, 0, len(r.Managed))
	for a := range r.Managed {
		managed = append(managed, a)
	}
	slices.Sort(managed)
	statusLine(w, "Added by agent", fmt.Sprintf("%d: %s", len(managed), strings.Join(managed, ", ")))
	n := r.Counters
	statusLine(w, "Runs", fmt.Sprintf("%d (%d changed, %d rolled back, %d failed, %d outages)",
		n.Runs, n.Changes, n.Rollbacks, n.Failures, n.Outages))
	writeBlacklistStatus(w, r)
	switch t := r.Timer; {
	case t.Installed:
		last, next := "never", "not scheduled"
		if !t.Last.IsZero() {
			last = statusTime(t.Last)
		}
		if !t.Next.IsZero() {
			next = statusTime(t.Next)
		}
		statusLine(w, "Timer last run", last)
		statusLine(w, "Timer next run", next)
	default:
		statusLine(w, "Timer", t.Note)
	}
	return nil
}
