package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/config"
)

func configCommand() *cli.Command {
	all := config.Flags("", "paths", "chrony", "testing", "selection", "geographic", "notifications",
		"notifications.email", "notifications.webhook", "history")
	return &cli.Command{
		Name:  "config",
		Usage: "show or check the effective configuration",
		Description: "The configuration comes from, in order of precedence: flags, NTP_OPTIMIZER_*\n" +
			"environment variables, the file (--config, default " + config.DefaultPath + "),\n" +
			"and the built-in defaults.",
		Subcommands: []*cli.Command{
			{
				Name:  "show",
				Usage: "print the effective configuration, each value with where it came from",
				Description: "The output is itself a valid configuration file; every value is followed by\n" +
					"a comment naming its origin (default, file:line, env VAR or flag --name).",
				Flags:  append(all, &cli.BoolFlag{Name: "json", Usage: "print key, value and source as JSON"}),
				Action: runConfigShow,
			},
			{
				Name:   "check",
				Usage:  "validate the configuration; exit 2 naming every bad key, its origin and the allowed values",
				Flags:  all,
				Action: runConfigCheck,
			},
		},
	}
}

func runConfigShow(c *cli.Context) error {
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, struct {
			Keys any `json:"keys"`
		}{l.Entries()})
	}
	if l.File != "" {
		fmt.Fprintf(c.App.Writer, "# effective configuration; file %s\n", l.File)
	} else {
		fmt.Fprintln(c.App.Writer, "# effective configuration; no configuration file was read")
	}
	return l.Show(c.App.Writer)
}

func runConfigCheck(c *cli.Context) error {
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	where := "built-in defaults only (no file)"
	if l.File != "" {
		where = l.File
	}
	fmt.Fprintf(c.App.Writer, "configuration OK: %s\n", where)
	return nil
}
