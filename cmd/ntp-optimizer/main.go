// Command ntp-optimizer keeps a Linux machine's NTP sources optimal: it
// measures candidate servers, scores them reliability-first and applies the
// best set to chronyd live over its command socket (or, for ntpd and
// systemd-timesyncd, through their configuration files).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// stopSignals end a run the way SIGTERM does: the context is cancelled,
// so apply undoes or finishes what it started and the state is recorded.
// SIGHUP (the terminal went away) and SIGQUIT would otherwise kill the
// process mid-change (SIGQUIT with a goroutine dump and exit 2, the
// usage-error code).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	err := newAppFor(os.Args).RunContext(ctx, os.Args)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// newApp builds the command tree. Each subcommand lives in its own file and
// only parses flags, wires the pieces together and renders the result.
func newApp() *cli.App {
	return &cli.App{
		Name:    "ntp-optimizer",
		Usage:   "keep this machine's NTP sources optimal (chronyd live, ntpd/timesyncd by config)",
		Version: version,
		Description: "ntp-optimizer measures candidate NTP servers (offset, delay, jitter, stratum,\n" +
			"reachability), scores them reliability-first, rejects falsetickers and\n" +
			"unsynchronised or rate-limiting servers, and makes the NTP daemon use the\n" +
			"best diverse set. On chronyd it works live over chronyd's command socket.",
		Flags:                globalFlags(),
		Before:               setup,
		Commands:             commands(),
		EnableBashCompletion: true,
		// Errors are printed once, by exitCode, with the code they map to.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError(err)
		},
	}
}

// newAppFor is newApp for one invocation: the commands not invoked keep
// their name and usage (for --help) but not their flags. urfave/cli renders
// every command's flags at start-up to group them for help, which cost a
// short command like `sources` a millisecond for flags it never parses.
func newAppFor(args []string) *cli.App {
	app := newApp()
	invoked := invokedCommand(args[1:])
	if invoked == "man" || invoked == "completion" {
		return app // the man page and the fish completion list every command's flags
	}
	for _, c := range app.Commands {
		if c.Name != invoked {
			c.Flags, c.Subcommands = nil, stripped(c.Subcommands)
		}
	}
	return app
}

func stripped(cs []*cli.Command) []*cli.Command {
	for _, c := range cs {
		c.Flags = nil
	}
	return cs
}

// invokedCommand finds the subcommand in the arguments: the first one that
// is neither a global flag nor a global flag's value ("help CMD" names CMD).
func invokedCommand(args []string) string {
	takesValue := map[string]bool{}
	for _, f := range globalFlags() {
		if _, isBool := f.(*cli.BoolFlag); !isBool {
			for _, n := range f.Names() {
				takesValue["-"+n], takesValue["--"+n] = true, true
			}
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return ""
		case strings.HasPrefix(a, "-"):
			if takesValue[a] {
				i++
			}
		case a == "help" || a == "h":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		default:
			return a
		}
	}
	return ""
}

// commands lists the subcommands in the order --help shows them.
func commands() []*cli.Command {
	return []*cli.Command{
		applyCommand(),
		sourcesCommand(),
		authdataCommand(),
		statusCommand(),
		probeCommand(),
		historyCommand(),
		reportCommand(),
		blacklistCommand(),
		configCommand(),
		installCommand(),
		uninstallCommand(),
		manCommand(),
		completionCommand(),
		versionCommand(),
	}
}

// fail prints a one-line error for the operator.
func fail(w *os.File, err error) {
	fmt.Fprintf(w, "ntp-optimizer: %v\n", err)
}
