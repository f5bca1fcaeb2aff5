package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// smtpLab is a real SMTP server (emersion/go-smtp) on a loopback ephemeral
// port, with a self-signed certificate made for the test, AUTH PLAIN, and a
// record of every message it accepted.
type smtpLab struct {
	host  string
	port  int
	roots *x509.CertPool
	user  string
	pass  string

	mu   sync.Mutex
	msgs []receivedMail
}

type receivedMail struct {
	from     string
	to       []string
	data     []byte
	tls      bool // the transaction ran over TLS (STARTTLS or implicit)
	authUser string
}

// labMode says how the lab offers TLS.
type labMode int

const (
	labSTARTTLS labMode = iota // STARTTLS offered; AUTH only after it
	labImplicit                // TLS from the first byte
	labPlain                   // no TLS at all
)

func startSMTPLab(t *testing.T, mode labMode) *smtpLab {
	t.Helper()
	cert, roots := selfSignedCert(t)
	lab := &smtpLab{host: "127.0.0.1", roots: roots, user: "ntpo", pass: "s3cret pass"}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &labSession{lab: lab, conn: c}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var ln net.Listener
	var err error
	switch mode {
	case labImplicit:
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	case labSTARTTLS:
		srv.TLSConfig = tlsConf
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case labPlain:
		srv.AllowInsecureAuth = true
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	lab.port, _ = strconv.Atoi(port)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return lab
}

func (l *smtpLab) received() []receivedMail {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]receivedMail(nil), l.msgs...)
}

// config returns an enabled e-mail configuration pointing at the lab.
func (l *smtpLab) config(mode TLSMode) EmailConfig {
	e := defaultConfig().Email
	e.Enabled = true
	e.SMTPServer = l.host
	e.SMTPPort = l.port
	e.TLS = mode
	e.FromAddress = "ntp-optimizer@host.test"
	e.ToAddresses = []string{"ops@example.test", "Second Admin <admin2@example.test>"}
	e.Username = l.user
	e.Timeout = 10 * time.Second
	return e
}

type labSession struct {
	lab  *smtpLab
	conn *smtp.Conn
	cur  receivedMail
}

func (s *labSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *labSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.lab.user || pass != s.lab.pass {
			return errors.New("invalid credentials")
		}
		s.cur.authUser = user
		return nil
	}), nil
}

func (s *labSession) Mail(from string, _ *smtp.MailOptions) error {
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.from = from
	return nil
}

func (s *labSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *labSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.lab.mu.Lock()
	s.lab.msgs = append(s.lab.msgs, s.cur)
	s.lab.mu.Unlock()
	s.cur = receivedMail{authUser: s.cur.authUser}
	return nil
}

func (s *labSession) Reset()        { s.cur = receivedMail{authUser: s.cur.authUser} }
func (s *labSession) Logout() error { return nil }

// selfSignedCert makes a certificate for 127.0.0.1 and localhost, and a
// pool holding it for the client to trust.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ntp-optimizer test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
