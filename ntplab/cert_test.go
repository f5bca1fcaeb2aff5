package ntplab

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loadCert parses the certificate file f.
func loadCert(t *testing.T, f string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk)
	require.Equal(t, "CERTIFICATE", blk.Type)
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	return c
}

// TestWriteCert: the certificate holds the address in subjectAltName, is
// its own trust anchor, and a TLS 1.3 client trusting it (as chronyd's
// ntstrustedcerts does) completes a handshake with ALPN ntske/1 against
// the address; an expired one is refused.
func TestWriteCert(t *testing.T) {
	now := time.Now()
	ip := netip.MustParseAddr("127.0.0.1")
	dir := filepath.Join(t.TempDir(), "certs")
	f, err := WriteCert(dir, "nts", CertOptions{IPs: []netip.Addr{ip}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	require.NoError(t, err)
	require.Equal(t, CertFiles{Cert: filepath.Join(dir, "nts.crt"), Key: filepath.Join(dir, "nts.key")}, f)
	for path, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, f.Key: 0o600, f.Cert: 0o644} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode(), path)
	}
	c := loadCert(t, f.Cert)
	require.Equal(t, "127.0.0.1", c.Subject.CommonName)
	require.Len(t, c.IPAddresses, 1)
	require.True(t, c.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))
	require.NoError(t, c.VerifyHostname("127.0.0.1"))
	require.Error(t, c.VerifyHostname("127.0.0.2"))
	roots := x509.NewCertPool()
	roots.AddCert(c)
	_, err = c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now})
	require.NoError(t, err)

	require.NoError(t, handshake(t, f, roots, "127.0.0.1"))
	require.ErrorContains(t, handshake(t, f, x509.NewCertPool(), "127.0.0.1"), "unknown authority")

	expired, err := WriteCert(dir, "expired", CertOptions{IPs: []netip.Addr{ip}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	require.NoError(t, err)
	old := x509.NewCertPool()
	old.AddCert(loadCert(t, expired.Cert))
	require.ErrorContains(t, handshake(t, expired, old, "127.0.0.1"), "expired")

	// Writing again replaces both files; the key keeps mode 0600.
	require.NoError(t, os.Chmod(f.Key, 0o644))
	again, err := WriteCert(dir, "nts", CertOptions{IPs: []netip.Addr{ip}, NotBefore: now, NotAfter: now.Add(time.Hour)})
	require.NoError(t, err)
	fi, err := os.Stat(again.Key)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode())
	require.NotEqual(t, c.SerialNumber, loadCert(t, again.Cert).SerialNumber)
}

// handshake serves f's certificate on loopback over TLS 1.3 with ALPN
// ntske/1 (RFC 8915 section 4) and connects to it as serverName trusting
// roots; it returns the client's error.
func handshake(t *testing.T, f CertFiles, roots *x509.CertPool, serverName string) error {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	require.NoError(t, err)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair},
		MinVersion: tls.VersionTLS13, NextProtos: []string{"ntske/1"}})
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.(*tls.Conn).Handshake()
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(),
		&tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS13, NextProtos: []string{"ntske/1"}})
	if err != nil {
		return err
	}
	defer c.Close()
	require.Equal(t, "ntske/1", c.ConnectionState().NegotiatedProtocol)
	return nil
}

func TestWriteCertRefuses(t *testing.T) {
	now := time.Now()
	ip := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	tests := []struct {
		name, file string
		o          CertOptions
		want       string
	}{
		{"no names", "nts", CertOptions{NotBefore: now, NotAfter: now.Add(time.Hour)}, "at least one IP address or DNS name"},
		{"validity backwards", "nts", CertOptions{IPs: ip, NotBefore: now, NotAfter: now}, "is not later than"},
		{"path as name", "../nts", CertOptions{IPs: ip, NotBefore: now, NotAfter: now.Add(time.Hour)}, "want a plain file name"},
		{"empty name", "", CertOptions{IPs: ip, NotBefore: now, NotAfter: now.Add(time.Hour)}, "want a plain file name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := WriteCert(dir, tc.file, tc.o)
			require.ErrorContains(t, err, tc.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing written")
		})
	}
}
