package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// emailSender delivers messages over SMTP with the standard library's
// net/smtp: STARTTLS (required, never opportunistic) or implicit TLS, and
// AUTH PLAIN, which net/smtp only sends over TLS or to localhost.
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
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.send(ctx, msg); err != nil {
		return fmt.Errorf("sending mail through %s:%d: %w", s.cfg.SMTPServer, s.cfg.SMTPPort, err)
	}
	return nil
}

func (s *emailSender) send(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(s.cfg.SMTPServer, strconv.Itoa(s.cfg.SMTPPort))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	// The whole conversation is bounded by ctx: the deadline covers every
	// read and write, and cancelling closes the connection.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.SMTPServer)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if h, err := s.hostname(); err == nil && h != "" {
		if err := c.Hello(h); err != nil {
			return err
		}
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS, and tls = \"starttls\" requires it")
		}
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server offers no AUTH, but a username is configured")
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.password, s.cfg.SMTPServer)); err != nil {
			return fmt.Errorf("authentication: %w", err)
		}
	}
	from, _ := mail.ParseAddress(s.cfg.FromAddress)
	if err := c.Mail(from.Address); err != nil {
		return err
	}
	for _, to := range s.cfg.ToAddresses {
		a, _ := mail.ParseAddress(to)
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("recipient %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// build renders m as an RFC 5322 message: UTF-8 text, quoted-printable,
// an encoded subject, Date, Message-ID, and Auto-Submitted (RFC 3834:
// machine-generated, so no vacation auto-replies).
func (s *emailSender) build(m Message) ([]byte, error) {
	from, err := mail.ParseAddress(s.cfg.FromAddress)
	if err != nil {
		return nil, fmt.Errorf("from_address: %w", err)
	}
	var to []string
	for _, t := range s.cfg.ToAddresses {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("to_addresses: %q: %w", t, err)
		}
		to = append(to, a.String())
	}
	if len(to) == 0 {
		return nil, errors.New("to_addresses: no recipient")
	}
	t := m.Time // the notifier's clock: every message is stamped
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	host := "ntp-optimizer"
	if h, err := s.hostname(); err == nil && h != "" {
		host = h
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", t.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+host+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	header("X-Ntp-Optimizer-Event", string(m.Kind))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
