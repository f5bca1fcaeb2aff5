package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	mail "github.com/wneessen/go-mail"
)

// emailSender delivers messages over SMTP with go-mail.
type emailSender struct {
	cfg      EmailConfig
	password string
	tls      *tls.Config
	hostname func() (string, error)
}

func newEmailSender(cfg EmailConfig, password string, base *tls.Config, hostname func() (string, error)) *emailSender {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		t = base.Clone()
	}
	if t.ServerName == "" {
		t.ServerName = cfg.SMTPServer
	}
	return &emailSender{cfg: cfg, password: password, tls: t, hostname: hostname}
}

// Send delivers m to every recipient in one SMTP transaction, within the
// configured timeout or ctx's deadline, whichever comes first.
func (s *emailSender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	opts := []mail.Option{
		mail.WithPort(s.cfg.SMTPPort),
		mail.WithTimeout(s.cfg.Timeout),
		mail.WithTLSConfig(s.tls),
	}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default: // starttls: refuse to go on without it
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if h, err := s.hostname(); err == nil && h != "" {
		opts = append(opts, mail.WithHELO(h))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.cfg.Username),
			mail.WithPassword(s.password))
	}
	c, err := mail.NewClient(s.cfg.SMTPServer, opts...)
	if err != nil {
		return fmt.Errorf("smtp client for %s: %w", s.cfg.SMTPServer, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("sending mail through %s:%d: %w", s.cfg.SMTPServer, s.cfg.SMTPPort, err)
	}
	return nil
}

func (s *emailSender) build(m Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(s.cfg.FromAddress); err != nil {
		return nil, fmt.Errorf("from_address: %w", err)
	}
	if err := msg.To(s.cfg.ToAddresses...); err != nil {
		return nil, fmt.Errorf("to_addresses: %w", err)
	}
	msg.Subject(m.Subject)
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	msg.SetDateWithValue(t)
	msg.SetMessageID()
	// RFC 3834: machine-generated, so no vacation auto-replies.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Ntp-Optimizer-Event", string(m.Kind))
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	return msg, nil
}
