//go:build !urfave_cli_no_docs

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// manSection is the man page section: system administration commands.
const manSection = 8

// manCommand prints the man page generated from the command tree, so it
// never drifts from --help. Hidden: packagers run it, users read man.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the man page (roff) generated from the command-line interface",
		Hidden: true,
		Action: func(c *cli.Context) error {
			page, err := c.App.ToManWithSection(manSection)
			if err != nil {
				return fmt.Errorf("generating the man page: %w", err)
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
}
