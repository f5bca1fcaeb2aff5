package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/metrics"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

func applyCommand() *cli.Command {
	flags := config.Flags("", "paths", "chrony", "testing", "selection", "geographic", "history",
		"notifications", "notifications.email", "notifications.webhook")
	flags = append(flags,
		&cli.BoolFlag{Name: "dry-run", Usage: "measure and decide, change nothing (not the daemon, not a file, not the state)"},
		&cli.BoolFlag{Name: "json", Usage: "print the decision document as JSON"},
		&cli.BoolFlag{Name: "no-schedule", Usage: "run once; do not install the systemd timer (apply installs it on its first run where systemd runs, as install does)"},
		&cli.BoolFlag{Name: "cleanup", Usage: "only delete the sources an interrupted run left under audition in chronyd (noselect), then exit"},
	)
	return &cli.Command{
		Name:  "apply",
		Usage: "measure candidate servers and make the NTP daemon use the best set",
		Description: "One optimisation run: discover candidates (keep, your lists, the daemon's\n" +
			"current sources, regional pool zones, the catalog), measure them politely,\n" +
			"score them reliability-first, reject falsetickers, unsynchronised and\n" +
			"rate-limiting servers, choose a diverse set and apply it. On chronyd the change\n" +
			"is live: new sources are added first and must answer before old ones leave,\n" +
			"then chronyd must select a source, else everything is undone. The set is also\n" +
			"written to ntp-optimizer.sources in chronyd's sourcedir for restarts.\n\n" +
			"Exit codes: 0 applied or nothing to do, 1 failed (also: no run lock could be\n" +
			"taken, or a rollback that failed: the reason says what could not be undone),\n" +
			"2 usage error, 3 rolled back, 4 no usable servers, 5 applied but the state could\n" +
			"not be saved, 6 outage (nothing answered: this machine's network is down; nothing\n" +
			"was changed or counted), 7 applied live but not persisted (chronyd's sources file\n" +
			"could not be written: a restart of chronyd loses the set).",
		Flags:  flags,
		Action: runApply,
	}
}

func runApply(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("apply takes no arguments, got %q (use --server or --servers-file)", c.Args().Slice()))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	cfg := &l.Config
	log := logger(c)
	det, err := detectBackend(c, cfg)
	var ce *codedError
	switch {
	case errors.As(err, &ce):
		return err // a usage error: nothing to record
	case err != nil:
		// The run still happens, to fail at its first step: it is then
		// recorded, counted and notified like any failed run.
		det = &detected{backend: &daemon.Unavailable{Kind: cfg.Backend, Err: err}, close: func() {}}
	default:
		log.Info().Str("how", det.how).Msg("NTP daemon")
	}
	defer det.close()

	p := prober.New(cfg.Prober(), log)
	p.Clock = clockOf(c)
	var progress *progressLine
	if f, ok := c.App.ErrWriter.(*os.File); ok && isatty.IsTerminal(f.Fd()) && !c.Bool("json") {
		progress = progressOf(c, f)
		p.Progress = progress.Show
	}
	settings := cfg.Agent()
	// The NTS pre-flight: the daemon's trust, the probe's samples and
	// concurrency, the prober's timeouts.
	settings.NTS = det.nts
	settings.NTS.Options.Samples, settings.NTS.Parallel = p.Samples, p.MaxInFlight
	a := &agent.Agent{
		Settings: settings,
		Backend:  det.backend,
		Discoverer: &discovery.Discoverer{Log: log, Clock: clockOf(c),
			CacheDir: filepath.Join(cfg.Paths.StateDir, "cache")},
		Prober:   p,
		NTS:      p,
		Store:    &agent.Store{Dir: cfg.Paths.StateDir, LockDir: cfg.Paths.LockDir, Logger: log, Clock: clockOf(c)},
		Notifier: notifier(c, l),
		Log:      log,
		Clock:    clockOf(c),
	}
	if path := cfg.Paths.MetricsFile; path != "" {
		// build_info: the version `make build` stamps (main.version), the
		// commit and Go version from the binary.
		b := metrics.BuildInfo{}
		if version != "dev" {
			b.Version = version
		}
		a.Metrics = metrics.File{Path: path, Build: b}
	}
	if c.Bool("cleanup") {
		return runCleanup(c, a)
	}
	rep, runErr := a.Run(c.Context, agent.Options{DryRun: c.Bool("dry-run")})
	progress.Clear()
	if rep != nil {
		logReport(c, rep, runErr)
		if c.Bool("json") {
			err = writeJSON(c.App.Writer, rep)
		} else {
			err = writeApplyReport(c.App.Writer, rep)
		}
		if err != nil {
			return err
		}
	}
	if runErr == nil && !c.Bool("dry-run") && !c.Bool("no-schedule") && !c.Bool("json") {
		if err := scheduleAfterApply(c, cfg); err != nil {
			log.Warn().Err(err).Msg("could not schedule the timer (ntp-optimizer install)")
		}
	}
	return runExit(c, rep, runErr)
}

// runCleanup is apply --cleanup: the sources earlier runs left under
// audition are deleted, nothing else is done.
func runCleanup(c *cli.Context, a *agent.Agent) error {
	rep, err := a.Cleanup(c.Context)
	if rep != nil {
		for _, n := range rep.Notes {
			fmt.Fprintf(c.App.Writer, "note: %s\n", n)
		}
		for _, w := range rep.Warnings {
			fmt.Fprintf(c.App.Writer, "warning: %s\n", w)
		}
	}
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}

// notifier builds the e-mail and webhook notifier when either is on (nil
// otherwise). A channel it cannot build (an SMTP password others can read)
// is reported by every run, through the notifier.
func notifier(c *cli.Context, l *config.Loaded) agent.Notifier {
	nc := l.Config.Notify()
	if !nc.Email.Enabled && !nc.Webhook.Enabled {
		return nil
	}
	n, _ := notify.New(nc, notify.Options{
		Password: notify.PasswordSource{ConfigFile: l.File, ConfigMode: l.FileMode},
		Log:      logger(c),
		Clock:    clockOf(c),
	})
	return n
}

// applyExit maps a run's error to the documented exit codes.
func applyExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, daemon.ErrRollbackFailed):
		// Not "rolled back": the daemon may still have part of the change.
		return withCode(exitFailure, err)
	case errors.Is(err, daemon.ErrNotPersisted):
		return withCode(exitNotPersisted, err)
	case errors.Is(err, daemon.ErrRolledBack):
		return withCode(exitRolledBack, err)
	case errors.Is(err, agent.ErrNoUsable):
		return withCode(exitNoUsable, err)
	case errors.Is(err, agent.ErrStateNotSaved):
		return withCode(exitStateWarning, err)
	case errors.Is(err, agent.ErrOutage):
		return withCode(exitOutage, err)
	case errors.Is(err, agent.ErrInput):
		return usageError(err)
	}
	return err
}

// logReport puts the decision into the log, one line per change; the last
// line is an error for a failed run (exitLevel).
func logReport(c *cli.Context, r *agent.Report, runErr error) {
	log := logger(c).With().Str("run_id", r.RunID).Logger()
	for _, a := range r.Added {
		log.Info().Str("server", a.Server).Str("addr", a.Address.String()).Str("reason", a.Reason).Bool("dry_run", r.DryRun).Msg("add")
	}
	for _, d := range r.Removed {
		log.Info().Str("server", d.Server).Str("addr", d.Address.String()).Str("reason", d.Reason).Bool("dry_run", r.DryRun).Msg("remove")
	}
	for _, w := range r.Warnings {
		log.Warn().Msg(w)
	}
	log.WithLevel(exitLevel(codeOf(applyExit(runErr)))).Str("outcome", string(r.Outcome)).Strs("selected", r.Selected).Float64("duration_s", r.Duration).
		Str("reason", r.Reason).Msg("run finished")
}

// writeApplyReport prints the performance table, the decision with its
// reasons and a one-line summary.
func writeApplyReport(w io.Writer, r *agent.Report) error {
	fmt.Fprintln(w, "NTP SERVER PERFORMANCE TEST RESULTS")
	fmt.Fprintln(w, "Optimized for Reliability & Accuracy (Client Server Configuration)")
	fmt.Fprintln(w, strings.Repeat("=", 80))
	if err := writeCandidateTable(w, r.Candidates); err != nil {
		return err
	}
	fmt.Fprintln(w)
	verb := map[bool][2]string{false: {"added", "removed"}, true: {"would add", "would remove"}}[r.DryRun]
	for _, a := range r.Added {
		fmt.Fprintf(w, "%s %s (%s): %s\n", verb[0], a.Address, a.Server, a.Reason)
	}
	for _, d := range r.Removed {
		addr := d.Address.String()
		if !d.Address.IsValid() {
			addr = d.Server
		}
		fmt.Fprintf(w, "%s %s: %s\n", verb[1], addr, tableReason(d.Reason))
	}
	for _, n := range r.Relaxed {
		fmt.Fprintf(w, "note: diversity rule relaxed: %s\n", n)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
	if r.Diff != "" {
		fmt.Fprintf(w, "\n%s", r.Diff)
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Summary())
	return err
}
