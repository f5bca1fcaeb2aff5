package prober

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// tlsConfig is chronyd's TLS client: TLS 1.3, ALPN ntske/1, the
// certificate checked against the system CAs (unless NoSystemCerts) and
// the ntstrustedcerts files, for serverName, with the validity times
// ignored under NoCertTimeCheck.
func (o NTSOptions) tlsConfig(serverName string, now time.Time, leaf **x509.Certificate) (*tls.Config, error) {
	roots := x509.NewCertPool()
	if !o.NoSystemCerts {
		sys, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("nts: reading the system certificates: %w", err)
		}
		roots = sys
	}
	for _, f := range o.TrustedCerts {
		if err := addTrusted(roots, f); err != nil {
			return nil, err
		}
	}
	verify := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("%w: the server sent no certificate", ErrNTSCertInvalid)
		}
		*leaf = cs.PeerCertificates[0]
		vo := x509.VerifyOptions{DNSName: serverName, Roots: roots, CurrentTime: now, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			vo.Intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(vo)
		var inv x509.CertificateInvalidError
		if err != nil && o.NoCertTimeCheck && errors.As(err, &inv) && inv.Reason == x509.Expired {
			// chronyd's nocerttimecheck: the times are not checked. Verify
			// at a moment inside every presented certificate's validity.
			vo.CurrentTime = time.Time{}
			for _, c := range cs.PeerCertificates {
				vo.CurrentTime = maxTime(vo.CurrentTime, c.NotBefore)
			}
			_, err = cs.PeerCertificates[0].Verify(vo)
		}
		return certError(err, now)
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{alpnNTSKE},
		ServerName:         serverName,
		InsecureSkipVerify: true, // verified by VerifyConnection, with chronyd's options
		VerifyConnection:   verify,
	}, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// addTrusted adds an ntstrustedcerts file, or a directory's *.crt files
// as chronyd reads them.
func addTrusted(pool *x509.CertPool, path string) error {
	files := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.crt"))
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("nts: ntstrustedcerts: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("nts: ntstrustedcerts %s: no PEM certificate in it", f)
		}
	}
	return nil
}

// certError maps a verification error onto the reasons.
func certError(err error, now time.Time) error {
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	var host x509.HostnameError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ua):
		return fmt.Errorf("%w: %v", ErrNTSUnknownAuthority, err)
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		if inv.Cert != nil && now.Before(inv.Cert.NotBefore) {
			return fmt.Errorf("%w: valid from %s: %v", ErrNTSCertNotYetValid, inv.Cert.NotBefore.UTC().Format(time.RFC3339), err)
		}
		return fmt.Errorf("%w: %v", ErrNTSCertExpired, err)
	case errors.As(err, &host):
		return fmt.Errorf("%w: %v", ErrNTSCertInvalid, err)
	}
	return fmt.Errorf("%w: %v", ErrNTSCertInvalid, err)
}
