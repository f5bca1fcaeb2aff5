package main

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/schedule"
)

// unitDirs are where systemd finds unit files (admin, packages).
var unitDirs = []string{schedule.DefaultUnitDir, "/lib/systemd/system", "/usr/lib/systemd/system"}

// timerInstalled reports whether some unit directory has the timer.
func timerInstalled() bool {
	for _, d := range unitDirs {
		if _, err := os.Stat(filepath.Join(d, schedule.TimerName)); err == nil {
			return true
		}
	}
	return false
}

// timerEnabled reports whether the timer is enabled (its timers.target
// link exists).
func timerEnabled() bool {
	_, err := os.Lstat(filepath.Join(schedule.DefaultUnitDir, "timers.target.wants", schedule.TimerName))
	return err == nil
}

// scheduleAfterApply does what the seed's first run does: it schedules
// apply on a systemd timer (every testing.interval_hours), unless the
// timer is enabled already; an explicit --interval reinstalls it with the
// new interval. The package installs the timer but does not enable it, so
// the first apply after installing the package enables it (writing the
// interval drop-in). The timer's runs read /etc/ntp-optimizer/config.toml, not this
// command line. It says why when it cannot.
func scheduleAfterApply(c *cli.Context, cfg *config.Config) error {
	if !systemd.Running("") {
		log := logger(c)
		log.Info().Msg("not scheduled: systemd is not running (run apply from cron, or pass --no-schedule)")
		return nil
	}
	if timerInstalled() && timerEnabled() && !c.IsSet("interval") {
		return nil
	}
	return installTimer(c, installOptions{interval: cfg.Testing.Interval.D(), unitDir: schedule.DefaultUnitDir, enable: true})
}
