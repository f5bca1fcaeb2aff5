package main

import (
	_ "embed"
	"fmt"

	"github.com/urfave/cli/v2"
)

// manPage is the man page, ntp-optimizer(8), written by hand in man(7)
// macros: NAME, SYNOPSIS, DESCRIPTION, COMMANDS, EXIT STATUS,
// ENVIRONMENT, FILES, EXAMPLES, SEE ALSO. TestManPage keeps its commands
// and exit codes those of the CLI and the README, and mandoc -Tlint clean.
//
//go:embed ntp-optimizer.8
var manPage string

// manCommand prints the man page. Hidden: packagers run it
// (scripts/deb.sh), users read man.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the man page, ntp-optimizer(8), in roff",
		Hidden: true,
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprint(c.App.Writer, manPage)
			return err
		},
	}
}
