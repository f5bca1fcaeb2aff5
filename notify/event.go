package notify

import (
	"time"
)

// Kind is what a message is about.
type Kind string

// The message kinds.
const (
	KindChange   Kind = "change"
	KindError    Kind = "error"
	KindRecovery Kind = "recovery"
)

// ErrorKind classifies a failed run. The agent picks one; it is part of the
// throttle key, so a rollback and a "no usable servers" are different
// errors.
type ErrorKind string

// The error kinds the agent reports.
const (
	ErrorFailed     ErrorKind = "failed"            // the run failed before or while applying
	ErrorRolledBack ErrorKind = "rolled_back"       // a change failed verification and was undone
	ErrorNoUsable   ErrorKind = "no_usable_servers" // no candidate passed the filters
	ErrorOutage     ErrorKind = "outage"            // nothing answered: the machine's network is down
)

// Server is one NTP source as a message shows it.
type Server struct {
	// Name is what the operator knows it by (host name or address).
	Name string `json:"name"`
	// Address is the IP address chronyd uses; may equal Name.
	Address string `json:"address"`
	// Score is the weighted score from 0 to 100.
	Score float64 `json:"score"`
	// Reason says why it was added or removed ("score 94.1 replaces
	// 127.0.0.20: score 61.0, 2nd run in a row").
	Reason string `json:"reason,omitempty"`
}

// Outcome is what the agent tells Notify after a run. A run either
// succeeded (Failure empty) or failed; a successful run may carry a change.
type Outcome struct {
	// Host names the machine in subjects and bodies; "" uses os.Hostname.
	Host string
	// RunID identifies the run in the logs and history.
	RunID string
	// Time is when the run ended.
	Time time.Time
	// Failure is set when the run failed.
	Failure *Failure
	// Added and Removed are the sources the run changed; both empty when
	// nothing changed.
	Added   []Server
	Removed []Server
	// Selected is the set after the run.
	Selected []Server
	// Summary is the run's one-line summary, shown at the top of a change.
	Summary string
}

// Failure describes a failed run.
type Failure struct {
	Kind ErrorKind
	// Err is the error as the operator sees it in the log.
	Err error
}

// Changed reports whether the run changed the set of sources.
func (o Outcome) Changed() bool {
	return len(o.Added) > 0 || len(o.Removed) > 0
}

// Message is one notification, rendered once and handed to every channel.
type Message struct {
	Kind    Kind
	Host    string
	Time    time.Time
	Subject string
	// Text is the plain-text body (e-mail body, webhook text).
	Text string
}
