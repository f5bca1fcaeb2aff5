package notify

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// Defaults, from the seed's notifications.email section and the NTP pool's
// operator mails (which repeat a persisting problem once a day).
const (
	// DefaultSMTPPort is the submission port with STARTTLS (RFC 6409).
	DefaultSMTPPort = 587
	// DefaultRepeatAfter is how long the same error stays quiet after it
	// was sent.
	DefaultRepeatAfter = 24 * time.Hour
	// DefaultSMTPTimeout bounds one e-mail delivery when the caller's
	// context allows longer.
	DefaultSMTPTimeout = 30 * time.Second
	// DefaultWebhookTimeout bounds one webhook POST when the caller's
	// context allows longer.
	DefaultWebhookTimeout = 10 * time.Second
	// PasswordEnv is the environment variable holding the SMTP password.
	PasswordEnv = "NTP_OPTIMIZER_SMTP_PASSWORD"
)

// Limits checked by Validate.
const (
	minRepeatAfter = time.Minute
	maxRepeatAfter = 30 * 24 * time.Hour
	maxTimeout     = 5 * time.Minute
	maxRecipients  = 100
)

// ErrConfig is wrapped by every Validate error.
var ErrConfig = errors.New("invalid notifications configuration")

// TLSMode says how the SMTP connection is protected.
type TLSMode string

// The TLS modes [notifications.email.tls].
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses to
	// go on without it (port 587).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone sends in clear text; only allowed without a password.
	TLSNone TLSMode = "none"
)

// Config is the [notifications] section.
type Config struct {
	Email   EmailConfig
	Webhook WebhookConfig
	// RepeatAfter is how long the same error stays quiet after it was
	// sent [notifications.repeat_after].
	RepeatAfter time.Duration
}

// EmailConfig is [notifications.email], with the seed's keys plus tls and
// password_file.
type EmailConfig struct {
	Enabled      bool
	SMTPServer   string
	SMTPPort     int
	TLS          TLSMode
	FromAddress  string
	ToAddresses  []string
	Username     string
	Password     string
	PasswordFile string
	SendOnChange bool
	SendOnError  bool
	// Timeout bounds one delivery [notifications.email.timeout].
	Timeout time.Duration
}

// WebhookConfig is [notifications.webhook].
type WebhookConfig struct {
	Enabled bool
	// URL is the incoming-webhook URL: https, or http to a loopback
	// address only (the URL usually carries a secret token).
	URL          string
	SendOnChange bool
	SendOnError  bool
	// Timeout bounds one POST [notifications.webhook.timeout].
	Timeout time.Duration
}

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

// Validate checks every key of an enabled channel and names the first bad
// one with its allowed values.
func (c Config) Validate() error {
	if c.RepeatAfter < minRepeatAfter || c.RepeatAfter > maxRepeatAfter {
		return bad("notifications.repeat_after is %v; it must be from %v to %v", c.RepeatAfter, minRepeatAfter, maxRepeatAfter)
	}
	if err := c.Email.validate(); err != nil {
		return err
	}
	return c.Webhook.validate()
}

func (e EmailConfig) validate() error {
	if !e.Enabled {
		return nil
	}
	const p = "notifications.email."
	if e.SMTPServer == "" || strings.ContainsAny(e.SMTPServer, " \t\r\n/:") {
		return bad("%ssmtp_server %q: want a host name or IP address", p, e.SMTPServer)
	}
	if e.SMTPPort < 1 || e.SMTPPort > 65535 {
		return bad("%ssmtp_port is %d; it must be from 1 to 65535", p, e.SMTPPort)
	}
	switch e.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if e.Username != "" {
			return bad("%stls is \"none\" with a username: the password would cross the network in clear text; use \"starttls\" or \"tls\"", p)
		}
	default:
		return bad("%stls %q: want starttls, tls or none", p, e.TLS)
	}
	if _, err := mail.ParseAddress(e.FromAddress); err != nil {
		return bad("%sfrom_address %q: %v", p, e.FromAddress, err)
	}
	if len(e.ToAddresses) == 0 || len(e.ToAddresses) > maxRecipients {
		return bad("%sto_addresses has %d addresses; it must have 1 to %d", p, len(e.ToAddresses), maxRecipients)
	}
	for i, a := range e.ToAddresses {
		if _, err := mail.ParseAddress(a); err != nil {
			return bad("%sto_addresses[%d] %q: %v", p, i, a, err)
		}
	}
	if e.Username == "" && (e.Password != "" || e.PasswordFile != "") {
		return bad("%spassword or password_file is set but username is empty", p)
	}
	if e.Password != "" && e.PasswordFile != "" {
		return bad("%spassword and password_file are both set; keep one", p)
	}
	if e.Timeout <= 0 || e.Timeout > maxTimeout {
		return bad("%stimeout is %v; it must be above 0 and at most %v", p, e.Timeout, maxTimeout)
	}
	return nil
}

func (w WebhookConfig) validate() error {
	if !w.Enabled {
		return nil
	}
	const p = "notifications.webhook."
	if err := validateWebhookURL(w.URL); err != nil {
		return bad("%surl: %v", p, err)
	}
	if w.Timeout <= 0 || w.Timeout > maxTimeout {
		return bad("%stimeout is %v; it must be above 0 and at most %v", p, w.Timeout, maxTimeout)
	}
	return nil
}

// validateWebhookURL accepts https URLs, and http only to a loopback
// address (a local relay), because the URL usually carries a secret.
func validateWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return nil
		}
		if u.Hostname() == "localhost" {
			return nil
		}
		return fmt.Errorf("%s: only https:// URLs are allowed (http:// only to a loopback address)", safeURL(u))
	default:
		return fmt.Errorf("%s: only https:// URLs are allowed", safeURL(u))
	}
}

// safeURL shows only a URL's scheme and host: a webhook's path is its
// secret and must not reach a log.
func safeURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + "/..."
}
