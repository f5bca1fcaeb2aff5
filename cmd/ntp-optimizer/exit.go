package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
)

// Exit codes. Scripts and the systemd unit branch on them, so they are part
// of the interface and documented in the README.
const (
	exitOK           = 0 // applied, or nothing to do
	exitFailure      = 1 // the run failed (daemon unreachable, no run lock, a rollback that failed, I/O error, ...)
	exitUsage        = 2 // bad flags, arguments or configuration
	exitRolledBack   = 3 // a change was made, failed verification and was undone
	exitNoUsable     = 4 // no candidate server passed the filters
	exitStateWarning = 5 // the change was applied but the state could not be saved
	exitOutage       = 6 // nothing answered: this machine's network is down; nothing was changed
	exitNotPersisted = 7 // the change is live, but chronyd's sources file could not be written: a restart loses it
)

// codedError carries the process exit code with an error. logged says
// the command has logged it already, at its level, with its fields
// (apply's "run finished" line).
type codedError struct {
	code   int
	err    error
	logged bool
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// withCode attaches an exit code to err (nil stays nil).
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// usageError marks err as a usage error (exit code 2).
func usageError(err error) error {
	return withCode(exitUsage, err)
}

// logged marks err as logged by the command (nil stays nil): where the
// log and the error line both go to the journal, exitCode does not say it
// twice.
func logged(err error) error {
	if err == nil {
		return nil
	}
	ce := &codedError{code: codeOf(err), err: err, logged: true}
	var inner *codedError
	if errors.As(err, &inner) {
		ce.err = inner.err
	}
	return ce
}

// codeOf is the exit code for err.
func codeOf(err error) int {
	var ce *codedError
	var ec cli.ExitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ec):
		return ec.ExitCode()
	}
	return exitFailure
}

// exitLevel is the log level of a run that ends with the exit code: error
// for a run that failed (1), was rolled back (3), found the network down
// (6), is live but not persisted (7) or had bad input (2); warn for one
// that changed nothing for want of usable servers (4) or could not save
// its state (5); info for success.
func exitLevel(code int) zerolog.Level {
	switch code {
	case exitOK:
		return zerolog.InfoLevel
	case exitNoUsable, exitStateWarning:
		return zerolog.WarnLevel
	}
	return zerolog.ErrorLevel
}

// runExit is apply's error for the exit: applyExit's, marked logged when
// the run's "run finished" line said it (at exitLevel, which the log
// level lets through).
func runExit(c *cli.Context, rep *agent.Report, runErr error) error {
	err := applyExit(runErr)
	if rep != nil && err != nil && exitLevel(codeOf(err)) >= logger(c).GetLevel() {
		return logged(err)
	}
	return err
}

// exitCode prints err (if any) and returns the process exit code for it.
// On the journal's stream the line carries its priority ("<3>" for an
// error), so `journalctl -p err` shows why a run failed, unless the
// command logged it already (then it is in the journal with its fields).
func exitCode(err error, w *os.File) int {
	code := codeOf(err)
	if err == nil {
		return code
	}
	onStream := onJournal(w, os.Getenv)
	var ce *codedError
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ce):
		if ce.err.Error() != "" && !(ce.logged && onStream) {
			failAt(w, exitLevel(code), onStream, ce.err)
		}
	case errors.As(err, &ec):
		if msg := fmt.Sprint(ec); msg != "" {
			if onStream {
				fmt.Fprintf(w, "<%d>", priority(exitLevel(code)))
			}
			fmt.Fprintln(w, msg)
		}
	default:
		failAt(w, exitLevel(code), onStream, err)
	}
	return code
}

// failAt is fail with the line's priority for the journal's stream.
func failAt(w *os.File, l zerolog.Level, onStream bool, err error) {
	if onStream {
		fmt.Fprintf(w, "<%d>", priority(l))
	}
	fail(w, err)
}
