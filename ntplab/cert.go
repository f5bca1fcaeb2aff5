package ntplab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// CertOptions configure WriteCert.
type CertOptions struct {
	// IPs and DNSNames are the certificate's subjectAltName: a client
	// verifies the server's address (chronyd's ntstrustedcerts, Go's
	// crypto/tls) or name against them. At least one is needed; the first
	// DNS name, else the first address, is the common name.
	IPs      []netip.Addr
	DNSNames []string
	// NotBefore and NotAfter bound the validity; NotAfter in the past
	// makes an expired certificate (for a lab server clients must refuse).
	NotBefore, NotAfter time.Time
}

// CertFiles are the PEM files WriteCert wrote.
type CertFiles struct {
	Cert string // the certificate: chronyd's ntsservercert, and a client's ntstrustedcerts
	Key  string // its PKCS#8 private key (mode 0600): chronyd's ntsserverkey
}

// WriteCert writes a self-signed ECDSA P-256 certificate, usable both as a
// TLS server certificate and as the trust anchor that verifies it (CA
// basic constraint, server-auth extended key usage), and its key, as
// dir/name.crt and dir/name.key. dir is created (0700) when missing. It is
// what an NTS lab server presents (RFC 8915 section 4: NTS-KE is TLS 1.3);
// a client trusts it by naming the .crt file, as chronyd's
// ntstrustedcerts does.
func WriteCert(dir, name string, o CertOptions) (CertFiles, error) {
	if len(o.IPs) == 0 && len(o.DNSNames) == 0 {
		return CertFiles{}, errors.New("certificate: want at least one IP address or DNS name")
	}
	if !o.NotAfter.After(o.NotBefore) {
		return CertFiles{}, fmt.Errorf("certificate: not after %s is not later than not before %s",
			o.NotAfter.UTC().Format(time.RFC3339), o.NotBefore.UTC().Format(time.RFC3339))
	}
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return CertFiles{}, fmt.Errorf("certificate: name %q: want a plain file name", name)
	}
	var cn string
	if len(o.DNSNames) > 0 {
		cn = o.DNSNames[0]
	} else {
		cn = o.IPs[0].String()
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CertFiles{}, fmt.Errorf("certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return CertFiles{}, fmt.Errorf("certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"ntp-optimizer ntplab"}},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		DNSNames:              o.DNSNames,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, ip := range o.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip.Unmap().AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return CertFiles{}, fmt.Errorf("certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return CertFiles{}, fmt.Errorf("certificate key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return CertFiles{}, fmt.Errorf("certificate: %w", err)
	}
	f := CertFiles{Cert: filepath.Join(dir, name+".crt"), Key: filepath.Join(dir, name+".key")}
	if err := writeFileMode(f.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return CertFiles{}, err
	}
	if err := writeFileMode(f.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return CertFiles{}, err
	}
	return f, nil
}

// writeFileMode writes b to path with exactly mode perm, whatever the
// umask. An earlier file there is removed first, so a key is never
// written into a file with a wider mode.
func writeFileMode(path string, b []byte, perm os.FileMode) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("certificate: %w", err)
	}
	if err := os.WriteFile(path, b, perm); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	return nil
}
