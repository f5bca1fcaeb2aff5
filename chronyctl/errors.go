package chronyctl

import (
	"errors"
	"fmt"
	"time"
)

// ErrNoReply is matched by *NoReplyError.
var ErrNoReply = errors.New("no reply from chronyd")

// ErrClosed is returned for requests on a closed Client.
var ErrClosed = errors.New("chronyctl: client closed")

// NoReplyError reports a request chronyd did not answer in time.
type NoReplyError struct {
	Peer          string
	Command       string
	Transmissions int           // when all transmissions were used
	Waited        time.Duration // when all transmissions were used
	Deadline      bool          // the context's deadline ended the wait
	cause         error
}

func (e *NoReplyError) Error() string {
	if e.Deadline {
		return fmt.Sprintf("no reply from chronyd at %s to %s within the deadline: is chronyd running and responsive?", e.Peer, e.Command)
	}
	return fmt.Sprintf("no reply from chronyd at %s to %s after %d transmissions in %s: is chronyd running and responsive?",
		e.Peer, e.Command, e.Transmissions, e.Waited.Round(time.Millisecond))
}

// Unwrap returns ErrNoReply, and the context's error when it ended the wait.
func (e *NoReplyError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrNoReply, e.cause}
	}
	return []error{ErrNoReply}
}
