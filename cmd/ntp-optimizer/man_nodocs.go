//go:build urfave_cli_no_docs

package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// manCommand stands in for the man page generator, which the
// urfave_cli_no_docs build tag leaves out of the binary.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the man page (not in this build)",
		Hidden: true,
		Action: func(*cli.Context) error {
			return errors.New("this binary was built with the urfave_cli_no_docs tag, without the man page generator: run 'go run ./cmd/ntp-optimizer man' from the source tree")
		},
	}
}
