package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Channel names, the keys of State.Channels.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Sender delivers one message over one channel.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Options are the injected parts of a Notifier.
type Options struct {
	// Password says where the SMTP password may come from.
	Password PasswordSource
	// TLSConfig is the base TLS configuration for SMTP (tests set RootCAs);
	// nil uses the system roots. ServerName is filled in.
	TLSConfig *tls.Config
	// HTTPClient posts webhooks; nil uses a client without a global
	// timeout (the context bounds each POST).
	HTTPClient *http.Client
	// Clock stamps messages; nil is the system clock.
	Clock clock.Clock
	// Hostname defaults to os.Hostname; it names the machine in messages.
	Hostname func() (string, error)
	// Log receives one line per message sent, skipped or failed.
	Log zerolog.Logger
}

type channel struct {
	name     string
	sender   Sender
	onChange bool
	onError  bool
}

// Notifier sends the messages a run calls for, over the enabled channels.
type Notifier struct {
	channels    []channel
	repeatAfter time.Duration
	clock       clock.Clock
	hostname    func() (string, error)
	log         zerolog.Logger
	// setupErr names the channels New could not build; every Notify
	// returns it too, so each run's report says notifications are off.
	setupErr error
}

// New builds a Notifier from a validated configuration. It returns a
// Notifier with every channel it could build, and an error naming those it
// could not (e.g. the SMTP password is in a file others can read), which
// every Notify returns as well: the caller may go on with the Notifier.
func New(cfg Config, opt Options) (*Notifier, error) {
	n := &Notifier{repeatAfter: cfg.RepeatAfter, clock: clock.Or(opt.Clock), hostname: opt.Hostname, log: opt.Log}
	if n.hostname == nil {
		n.hostname = os.Hostname
	}
	if n.repeatAfter <= 0 {
		n.repeatAfter = DefaultRepeatAfter
	}
	var errs []error
	if e := cfg.Email; e.Enabled {
		pw, from, err := e.ResolvePassword(opt.Password)
		if err != nil {
			errs = append(errs, fmt.Errorf("e-mail notifications disabled: %w", err))
		} else {
			if from != "" {
				n.log.Debug().Str("password_from", from).Msg("smtp password found")
			}
			n.channels = append(n.channels, channel{
				name:     ChannelEmail,
				sender:   newEmailSender(e, pw, opt.TLSConfig, n.hostname),
				onChange: e.SendOnChange,
				onError:  e.SendOnError,
			})
		}
	}
	if w := cfg.Webhook; w.Enabled {
		n.channels = append(n.channels, channel{
			name:     ChannelWebhook,
			sender:   newWebhookSender(w, opt.HTTPClient),
			onChange: w.SendOnChange,
			onError:  w.SendOnError,
		})
	}
	n.setupErr = errors.Join(errs...)
	return n, n.setupErr
}

// Enabled reports whether any channel is on.
func (n *Notifier) Enabled() bool { return len(n.channels) > 0 }

// Notify sends what the outcome of a run calls for and returns the new
// throttle state; st is not modified. A failed run sends an error message
// on each channel with send_on_error unless that channel delivered the same
// error less than repeat_after ago. A successful run first sends a
// recovery message on each channel that delivered an error, then a change
// message when sources changed, on each channel with send_on_change. The
// error joins every delivery that failed (and the channels New could not
// build); the state records only what was delivered, so an undelivered
// message is tried again on the next run.
func (n *Notifier) Notify(ctx context.Context, st State, o Outcome) (State, error) {
	next, err := n.notify(ctx, st, o)
	return next, errors.Join(n.setupErr, err)
}

func (n *Notifier) notify(ctx context.Context, st State, o Outcome) (State, error) {
	next := st.clone()
	if o.Time.IsZero() {
		o.Time = n.clock.Now()
	}
	if o.Host == "" {
		o.Host = n.host()
	}
	if o.Failure != nil {
		if next.FailingSince.IsZero() {
			next.FailingSince = o.Time
		}
		next.Failures++
		return next, n.notifyError(ctx, &next, o)
	}
	next.FailingSince, next.Failures = time.Time{}, 0
	var errs []error
	for _, ch := range n.channels {
		cs := next.Channels[ch.name]
		if !cs.OweRecovery {
			continue
		}
		if err := n.send(ctx, ch, recoveryMessage(o, st)); err != nil {
			errs = append(errs, err)
			continue
		}
		next.Channels[ch.name] = ChannelState{}
	}
	if o.Changed() {
		m := changeMessage(o)
		for _, ch := range n.channels {
			if ch.onChange {
				errs = append(errs, n.send(ctx, ch, m))
			}
		}
	}
	return next, errors.Join(errs...)
}

func (n *Notifier) notifyError(ctx context.Context, next *State, o Outcome) error {
	key := ErrorKey(*o.Failure)
	m := errorMessage(o, *next, n.repeatAfter)
	var errs []error
	for _, ch := range n.channels {
		if !ch.onError {
			continue
		}
		cs := next.Channels[ch.name]
		if !cs.shouldSendError(key, o.Time, n.repeatAfter) {
			n.log.Debug().Str("channel", ch.name).Time("sent", cs.ErrorSent).
				Msg("same error already reported; not repeated before repeat_after")
			continue
		}
		if err := n.send(ctx, ch, m); err != nil {
			errs = append(errs, err)
			continue
		}
		next.Channels[ch.name] = ChannelState{ErrorKey: key, ErrorSent: o.Time, OweRecovery: true}
	}
	return errors.Join(errs...)
}

func (n *Notifier) send(ctx context.Context, ch channel, m Message) error {
	if err := ch.sender.Send(ctx, m); err != nil {
		n.log.Warn().Err(err).Str("channel", ch.name).Str("kind", string(m.Kind)).Msg("notification not delivered")
		return fmt.Errorf("%s notification (%s): %w", ch.name, m.Kind, err)
	}
	n.log.Info().Str("channel", ch.name).Str("kind", string(m.Kind)).Msg("notification sent")
	return nil
}

func (n *Notifier) host() string {
	h, err := n.hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
