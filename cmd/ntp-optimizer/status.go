package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show chronyd's tracking report in the layout of chronyc tracking",
		Flags: append(append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the tracking report as JSON"},
		}, nameFlags()...), chronyFlags()...),
		Action: runStatus,
	}
}

func runStatus(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("status takes no arguments, got %q", c.Args().Slice()))
	}
	cl, ctx, done, err := dialChrony(c, true)
	if err != nil {
		return err
	}
	defer done()
	t, err := cl.Tracking(ctx)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
	return chronyfmt.Tracking(ctx, c.App.Writer, t, chronyfmt.Options{Names: nameMode(c)}, cl.SourceName)
}
