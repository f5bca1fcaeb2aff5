package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

var testTime = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func sampleChange() Outcome {
	return Outcome{
		Host:    "client7.example.test",
		RunID:   "r42",
		Time:    testTime,
		Summary: "1 added, 1 removed, 4 selected",
		Added:   []Server{{Name: "time.example.test", Address: "127.0.0.12", Score: 94.1, Reason: "replaces 127.0.0.20 (61.0), 2nd run in a row"}},
		Removed: []Server{{Name: "127.0.0.20", Address: "127.0.0.20", Score: 61.0, Reason: "beaten by 127.0.0.12"}},
		Selected: []Server{
			{Name: "time.example.test", Address: "127.0.0.12", Score: 94.1},
			{Name: "127.0.0.11", Address: "127.0.0.11", Score: 92.0},
		},
	}
}

// parseMail parses a received message and returns it with its decoded body.
func parseMail(t *testing.T, data []byte) (*mail.Message, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	body, err := io.ReadAll(r)
	require.NoError(t, err)
	return m, string(body)
}

// labNotifier returns a Notifier mailing through lab, with the password
// from the environment.
func labNotifier(t *testing.T, lab *smtpLab, mode TLSMode, roots bool, password string) *Notifier {
	t.Helper()
	cfg := defaultConfig()
	cfg.Email = lab.config(mode)
	require.NoError(t, cfg.Validate())
	opt := Options{
		Password: PasswordSource{Getenv: func(k string) string {
			if k == PasswordEnv {
				return password
			}
			return ""
		}},
		Clock:    clocktest.NewStepper(testTime),
		Hostname: func() (string, error) { return "client7.example.test", nil },
	}
	if roots {
		opt.TLSConfig = &tls.Config{RootCAs: lab.roots, MinVersion: tls.VersionTLS12}
	}
	n, err := New(cfg, opt)
	require.NoError(t, err)
	return n
}

func TestEmailDelivered(t *testing.T) {
	for _, tc := range []struct {
		name string
		lab  labMode
		mode TLSMode
	}{
		{name: "starttls", lab: labSTARTTLS, mode: TLSStartTLS},
		{name: "implicit tls", lab: labImplicit, mode: TLSImplicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := startSMTPLab(t, tc.lab)
			n := labNotifier(t, lab, tc.mode, true, lab.pass)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st, err := n.Notify(ctx, State{}, sampleChange())
			require.NoError(t, err)
			require.Equal(t, State{Channels: map[string]ChannelState{}}, st)

			got := lab.received()
			require.Len(t, got, 1)
			r := got[0]
			require.True(t, r.tls, "the transaction must run over TLS")
			require.Equal(t, lab.user, r.authUser, "AUTH PLAIN with the configured user")
			require.Equal(t, "ntp-optimizer@host.test", r.from)
			require.ElementsMatch(t, []string{"ops@example.test", "admin2@example.test"}, r.to)

			m, body := parseMail(t, r.data)
			require.Equal(t, "<ntp-optimizer@host.test>", m.Header.Get("From"))
			to, err := m.Header.AddressList("To")
			require.NoError(t, err)
			require.Len(t, to, 2)
			require.Equal(t, "ops@example.test", to[0].Address)
			require.Equal(t, "admin2@example.test", to[1].Address)
			require.Equal(t, "[ntp-optimizer] client7.example.test: NTP sources changed (1 added, 1 removed)", m.Header.Get("Subject"))
			date, err := m.Header.Date()
			require.NoError(t, err)
			require.True(t, date.Equal(testTime), "Date %v, want %v", date, testTime)
			require.Regexp(t, `^<[^<>@\s]+@[^<>@\s]+>$`, m.Header.Get("Message-ID"))
			require.Equal(t, "auto-generated", m.Header.Get("Auto-Submitted"))
			require.Equal(t, "change", m.Header.Get("X-Ntp-Optimizer-Event"))
			require.Contains(t, m.Header.Get("Content-Type"), "text/plain")
			require.Contains(t, body, "ntp-optimizer on client7.example.test changed the NTP sources at 2026-03-14 09:26:53 UTC (run r42).")
			require.Contains(t, body, "+ time.example.test (127.0.0.12)  score 94.1: replaces 127.0.0.20 (61.0), 2nd run in a row")
			require.Contains(t, body, "- 127.0.0.20  score 61.0: beaten by 127.0.0.12")
			require.Contains(t, body, "Selected now:")
		})
	}
}

func TestEmailRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lab    labMode
		mode   TLSMode
		roots  bool
		pass   string
		errHas string
	}{
		{name: "server without starttls", lab: labPlain, mode: TLSStartTLS, roots: true, errHas: "STARTTLS"},
		{name: "untrusted certificate", lab: labSTARTTLS, mode: TLSStartTLS, roots: false, errHas: "certificate"},
		{name: "wrong password", lab: labSTARTTLS, mode: TLSStartTLS, roots: true, pass: "wrong", errHas: "auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := startSMTPLab(t, tc.lab)
			pass := lab.pass
			if tc.pass != "" {
				pass = tc.pass
			}
			n := labNotifier(t, lab, tc.mode, tc.roots, pass)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			fail := Outcome{Time: testTime, Failure: &Failure{Kind: ErrorFailed, Err: errFake("chronyd unreachable")}}
			st, err := n.Notify(ctx, State{}, fail)
			require.Error(t, err)
			require.Contains(t, strings.ToLower(err.Error()), strings.ToLower(tc.errHas))
			require.Empty(t, lab.received())
			// Nothing was delivered, so the next run tries again.
			require.Equal(t, ChannelState{}, st.Channels[ChannelEmail])
			require.Equal(t, 1, st.Failures)
		})
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }
