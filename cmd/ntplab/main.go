// Command ntplab runs a simulated NTP server lab (see package ntplab) in the
// foreground: `ntplab run SCENARIO`. It prints each server's name, address
// and ground truth, and, with --json, the same as one JSON array on stdout
// for scripts (e.g. `make demo`). It stops cleanly on SIGINT or SIGTERM.
// `ntplab cert --ip ADDR --dir DIR` writes a self-signed certificate and
// key for a lab NTS server (chronyd's ntsservercert and ntsserverkey).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newApp().RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ntplab: %v\n", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:     "ntplab",
		Usage:    "simulated NTP servers with a known ground truth, for tests and demos",
		Commands: []*cli.Command{runCommand(), certCommand()},
	}
}
