package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/schedule"
)

func installCommand() *cli.Command {
	return &cli.Command{
		Name:  "install",
		Usage: "install the systemd service and timer that run 'apply' periodically",
		Description: "Writes ntp-optimizer.service (a hardened oneshot 'apply --no-schedule') and\n" +
			"ntp-optimizer.timer (5 min after boot, then every --interval, with a randomized\n" +
			"delay so a fleet never fires together) to --unit-dir, reloads systemd and\n" +
			"enables and starts the timer over D-Bus. Run it again to change the interval.\n" +
			"Where the package installed the units (/lib/systemd/system), it writes only\n" +
			"drop-ins: ntp-optimizer.timer.d/interval.conf and, for --binary, --apply-arg or\n" +
			"--rw-path, ntp-optimizer.service.d/install.conf.\n" +
			"Installing into /etc/systemd/system also fits the sandbox to this machine's NTP\n" +
			"daemons (creates /etc/systemd/timesyncd.conf.d for timesyncd; lets the service\n" +
			"write /etc when ntpd reads /etc/ntp.conf).",
		Flags: append(config.Flags("testing.interval_hours"),
			&cli.BoolFlag{Name: "no-enable", Usage: "only write the unit files: no reload, enable or start"},
			&cli.StringFlag{Name: "unit-dir", Value: schedule.DefaultUnitDir, Usage: "directory for the unit files"},
			&cli.StringFlag{Name: "binary", Usage: "path of ntp-optimizer in ExecStart (default: this executable)"},
			&cli.StringSliceFlag{Name: "apply-arg", Usage: "extra argument for the service's 'apply' (repeatable), e.g. --apply-arg=--metrics-file=/var/lib/prometheus/node-exporter/ntp_optimizer.prom"},
			&cli.StringSliceFlag{Name: "rw-path", Usage: "extra path the hardened service may write (repeatable; a leading - makes it optional)"},
		),
		Action: runInstall,
	}
}

func runInstall(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("install takes no arguments, got %q", c.Args().Slice()))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	return installTimer(c, installOptions{
		interval:  l.Config.Testing.Interval.D(),
		unitDir:   c.String("unit-dir"),
		binary:    c.String("binary"),
		applyArgs: c.StringSlice("apply-arg"),
		rwPaths:   c.StringSlice("rw-path"),
		enable:    !c.Bool("no-enable"),
	})
}

// installOptions say what installTimer writes.
type installOptions struct {
	interval  time.Duration
	unitDir   string
	binary    string // "" is this executable
	applyArgs []string
	rwPaths   []string
	enable    bool
}

// installTimer writes the service and timer and, with enable, reloads
// systemd and enables and starts the timer over D-Bus.
func installTimer(c *cli.Context, o installOptions) error {
	units := schedule.DefaultUnitConfig()
	units.Interval = o.interval
	units.ApplyArgs = o.applyArgs
	if len(o.rwPaths) > 0 {
		units.WritablePaths = append(append([]string{}, schedule.DefaultWritablePaths...), o.rwPaths...)
	}
	if filepath.Clean(o.unitDir) == schedule.DefaultUnitDir {
		// Units for this machine's systemd: fit the sandbox to its daemons.
		prep, err := schedule.PrepareMachine("")
		if err != nil {
			return err
		}
		for _, n := range prep.Notes {
			fmt.Fprintf(c.App.Writer, "note: %s\n", n)
		}
		if len(prep.WritablePaths) > 0 {
			if units.WritablePaths == nil {
				units.WritablePaths = append([]string{}, schedule.DefaultWritablePaths...)
			}
			units.WritablePaths = append(units.WritablePaths, prep.WritablePaths...)
		}
	}
	units.Binary = o.binary
	if units.Binary == "" {
		var err error
		if units.Binary, err = selfPath(); err != nil {
			return err
		}
	}
	if err := units.Validate(); err != nil {
		return usageError(err)
	}
	if _, err := os.Stat(units.Binary); err != nil {
		return usageError(fmt.Errorf("--binary: %w", err))
	}
	in := schedule.Installer{UnitDir: o.unitDir, Units: units, Log: logger(c)}
	if filepath.Clean(o.unitDir) == schedule.DefaultUnitDir {
		in.PackagedDirs = schedule.PackagedUnitDirs
	}
	if o.enable {
		sd, err := systemd.Connect(c.Context)
		if err != nil {
			return fmt.Errorf("%w; use --no-enable to only write the unit files", err)
		}
		defer sd.Close()
		in.Manager = sd
	}
	res, err := in.Install(c.Context, o.enable)
	for _, f := range res.Files {
		fmt.Fprintf(c.App.Writer, "wrote %s\n", f)
	}
	for _, f := range res.Unchanged {
		fmt.Fprintf(c.App.Writer, "unchanged %s\n", f)
	}
	for _, f := range res.Removed {
		fmt.Fprintf(c.App.Writer, "removed %s\n", f)
	}
	if err != nil {
		return err
	}
	if res.Enabled {
		fmt.Fprintf(c.App.Writer, "enabled and started %s: every %s, randomized by up to %s\n",
			schedule.TimerName, schedule.FormatSpan(o.interval), schedule.FormatSpan(units.EffectiveRandomizedDelay()))
	} else {
		fmt.Fprintf(c.App.Writer, "not enabled: run 'systemctl daemon-reload && systemctl enable --now %s'\n", schedule.TimerName)
	}
	return nil
}

// selfPath returns this executable's absolute path with symlinks resolved.
func selfPath() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding this executable (use --binary): %w", err)
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p, nil
}
