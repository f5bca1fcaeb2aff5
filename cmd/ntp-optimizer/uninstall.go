package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/schedule"
)

func uninstallCommand() *cli.Command {
	return &cli.Command{
		Name:  "uninstall",
		Usage: "stop and disable the timer and remove the systemd units",
		Description: "Stops and disables ntp-optimizer.timer over D-Bus, removes the unit files and\n" +
			"the drop-ins install wrote from --unit-dir (the package's own units stay) and\n" +
			"reloads systemd. A run in progress is left to finish.\n" +
			"The state directory and the NTP daemon's configuration are left as they are.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-disable", Usage: "only remove the unit files: do not talk to systemd"},
			&cli.StringFlag{Name: "unit-dir", Value: schedule.DefaultUnitDir, Usage: "directory of the unit files"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(fmt.Errorf("uninstall takes no arguments, got %q", c.Args().Slice()))
			}
			in := schedule.Installer{UnitDir: c.String("unit-dir"), Log: logger(c)}
			if filepath.Clean(in.UnitDir) == schedule.DefaultUnitDir {
				in.PackagedDirs = schedule.PackagedUnitDirs
			}
			if !c.Bool("no-disable") {
				sd, err := systemd.Connect(c.Context)
				if err != nil {
					return fmt.Errorf("%w; use --no-disable to only remove the unit files", err)
				}
				defer sd.Close()
				in.Manager = sd
			}
			res, err := in.Uninstall(c.Context)
			if res.Disabled {
				fmt.Fprintf(c.App.Writer, "stopped and disabled %s\n", schedule.TimerName)
			}
			for _, f := range res.Files {
				fmt.Fprintf(c.App.Writer, "removed %s\n", f)
			}
			if err == nil && len(res.Files) == 0 {
				fmt.Fprintln(c.App.Writer, "no unit files to remove")
			}
			return err
		},
	}
}
