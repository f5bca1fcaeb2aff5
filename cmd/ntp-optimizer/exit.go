package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
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

// codedError carries the process exit code with an error.
type codedError struct {
	code int
	err  error
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

// exitCode prints err (if any) and returns the process exit code for it.
func exitCode(err error, w *os.File) int {
	if err == nil {
		return exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		if ce.err.Error() != "" {
			fail(w, ce.err)
		}
		return ce.code
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := fmt.Sprint(ec); msg != "" {
			fmt.Fprintln(w, msg)
		}
		return ec.ExitCode()
	}
	fail(w, err)
	return exitFailure
}
