package notify

import (
	"regexp"
	"strings"
	"time"
)

// maxKeyLen caps the stored error key: enough to tell errors apart.
const maxKeyLen = 200

// State is the throttle state the caller keeps between runs (as JSON in its
// state directory). The zero value means "nothing sent yet".
type State struct {
	// FailingSince is when the current streak of failed runs began; zero
	// while runs succeed.
	FailingSince time.Time `json:"failing_since,omitempty"`
	// Failures counts the failed runs in the streak.
	Failures int `json:"failures,omitempty"`
	// Channels holds each channel's delivery record, by channel name
	// ("email", "webhook").
	Channels map[string]ChannelState `json:"channels,omitempty"`
}

// ChannelState is one channel's record of the error it last delivered.
type ChannelState struct {
	// ErrorKey is the normalised error last delivered ("" after a
	// recovery was delivered, or before any error).
	ErrorKey string `json:"error_key,omitempty"`
	// ErrorSent is when it was delivered.
	ErrorSent time.Time `json:"error_sent,omitempty"`
	// OweRecovery is set once an error was delivered, until a recovery
	// message is.
	OweRecovery bool `json:"owe_recovery,omitempty"`
}

// clone returns a deep copy, so Notify never changes the caller's value.
func (s State) clone() State {
	c := s
	c.Channels = make(map[string]ChannelState, len(s.Channels))
	for k, v := range s.Channels {
		c.Channels[k] = v
	}
	return c
}

// shouldSendError reports whether a channel whose record is cs delivers
// the error key at now. The same error waits repeatAfter; another error,
// or a clock that went backwards past the last delivery, sends at once.
func (cs ChannelState) shouldSendError(key string, now time.Time, repeatAfter time.Duration) bool {
	if cs.ErrorKey != key || cs.ErrorSent.IsZero() {
		return true
	}
	if now.Before(cs.ErrorSent) {
		return true
	}
	return now.Sub(cs.ErrorSent) >= repeatAfter
}

var (
	reIPv6   = regexp.MustCompile(`\[?\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b\]?`)
	reNumber = regexp.MustCompile(`[0-9]+(?:[.,][0-9]+)*`)
	reSpace  = regexp.MustCompile(`\s+`)
)

// ErrorKey is the throttle key of a failure: its kind and its text, lower
// case, with addresses, ports, numbers and durations replaced by '#', so
// "timeout after 20.3s waiting for 127.0.0.12" and "timeout after 20.1s
// waiting for 127.0.0.13" are the same error.
func ErrorKey(f Failure) string {
	text := ""
	if f.Err != nil {
		text = strings.ToLower(f.Err.Error())
	}
	text = reIPv6.ReplaceAllString(text, "#")
	text = reNumber.ReplaceAllString(text, "#")
	text = strings.TrimSpace(reSpace.ReplaceAllString(text, " "))
	key := string(f.Kind) + ": " + text
	if len(key) > maxKeyLen {
		key = key[:maxKeyLen]
	}
	return key
}
