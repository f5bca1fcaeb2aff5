package notify

import (
	"fmt"
	"strings"
	"time"
)

const subjectPrefix = "[ntp-optimizer] "

// changeMessage describes a run that changed the sources.
func changeMessage(o Outcome) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "ntp-optimizer on %s changed the NTP sources at %s", o.Host, stamp(o.Time))
	if o.RunID != "" {
		fmt.Fprintf(&b, " (run %s)", o.RunID)
	}
	b.WriteString(".\n")
	if o.Summary != "" {
		fmt.Fprintf(&b, "\n%s\n", o.Summary)
	}
	writeServers(&b, "Added", "+", o.Added)
	writeServers(&b, "Removed", "-", o.Removed)
	writeServers(&b, "Selected now", " ", o.Selected)
	return Message{
		Kind: KindChange,
		Host: o.Host,
		Time: o.Time,
		Subject: fmt.Sprintf("%s%s: NTP sources changed (%d added, %d removed)",
			subjectPrefix, o.Host, len(o.Added), len(o.Removed)),
		Text: b.String(),
	}
}

// errorMessage describes a failed run; st is the state after counting it.
func errorMessage(o Outcome, st State, repeatAfter time.Duration) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "ntp-optimizer on %s: the run at %s", o.Host, stamp(o.Time))
	if o.RunID != "" {
		fmt.Fprintf(&b, " (run %s)", o.RunID)
	}
	errText := "(no detail)"
	if o.Failure.Err != nil {
		errText = o.Failure.Err.Error()
	}
	fmt.Fprintf(&b, " %s.\n\nError: %s\n", kindText(o.Failure.Kind), errText)
	if st.Failures > 1 {
		fmt.Fprintf(&b, "\nRuns have failed since %s (%d runs in a row).\n", stamp(st.FailingSince), st.Failures)
	}
	if len(o.Selected) > 0 {
		writeServers(&b, "Sources in use", " ", o.Selected)
	}
	fmt.Fprintf(&b, "\nThe same error is reported again at most once every %s while it lasts;\n"+
		"a recovery message follows when a run succeeds.\n", repeatAfter)
	return Message{
		Kind:    KindError,
		Host:    o.Host,
		Time:    o.Time,
		Subject: fmt.Sprintf("%s%s: run %s", subjectPrefix, o.Host, kindText(o.Failure.Kind)),
		Text:    b.String(),
	}
}

// recoveryMessage describes the first good run after an error; prev is the
// state before it.
func recoveryMessage(o Outcome, prev State) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "ntp-optimizer on %s: the run at %s", o.Host, stamp(o.Time))
	if o.RunID != "" {
		fmt.Fprintf(&b, " (run %s)", o.RunID)
	}
	b.WriteString(" succeeded")
	if !prev.FailingSince.IsZero() {
		fmt.Fprintf(&b, " after %d failed run(s) since %s", prev.Failures, stamp(prev.FailingSince))
	}
	b.WriteString(".\n")
	writeServers(&b, "Sources in use", " ", o.Selected)
	return Message{
		Kind:    KindRecovery,
		Host:    o.Host,
		Time:    o.Time,
		Subject: fmt.Sprintf("%s%s: recovered, runs succeed again", subjectPrefix, o.Host),
		Text:    b.String(),
	}
}

func kindText(k ErrorKind) string {
	switch k {
	case ErrorRolledBack:
		return "failed verification and was rolled back"
	case ErrorNoUsable:
		return "found no usable NTP server"
	default:
		return "failed"
	}
}

func writeServers(b *strings.Builder, title, mark string, servers []Server) {
	if len(servers) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	for _, s := range servers {
		fmt.Fprintf(b, "  %s %s", mark, s.Name)
		if s.Address != "" && s.Address != s.Name {
			fmt.Fprintf(b, " (%s)", s.Address)
		}
		fmt.Fprintf(b, "  score %.1f", s.Score)
		if s.Reason != "" {
			fmt.Fprintf(b, ": %s", s.Reason)
		}
		b.WriteString("\n")
	}
}

func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
