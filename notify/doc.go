// Package notify tells people what a run did: by e-mail (SMTP with
// STARTTLS or implicit TLS and authentication, through
// the standard library's net/smtp) and by a webhook whose JSON body both Slack's
// and Discord's incoming webhooks accept.
//
// Three events exist. A change says which sources were added and removed,
// why, and with which scores. An error says the run failed, rolled back or
// found no usable server. A recovery says the first run after an error
// succeeded. Changes are switched by send_on_change; errors and recoveries
// by send_on_error.
//
// Errors are throttled the way the NTP pool throttles its operator mails:
// the same error (its kind plus its text with numbers and addresses
// normalised away) is sent again at most once per repeat_after (24 h by
// default), a different error is sent at once, and a recovery message
// follows an error that was sent. The throttle state is a small JSON-ready
// value (State) the caller loads from and saves to its state directory;
// Notifier.Notify takes it and returns the new one. Time is injected.
//
// A failing notifier must never fail the run: Notify returns an error for
// the caller to log, and the state it returns still records what was
// delivered, so an undelivered error is tried again on the next run.
package notify
