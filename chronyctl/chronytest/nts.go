package chronytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// CertKind selects what MakeCert makes.
type CertKind int

// The certificates an NTS lab server can present.
const (
	// CertValid is a self-signed certificate for the server's address,
	// valid from an hour before Now to a day after; clients trust it.
	CertValid CertKind = iota
	// CertExpired is CertValid that ran out a day before Now.
	CertExpired
	// CertUntrusted is valid, but clients are given an unrelated
	// certificate to trust (Cert.TrustFile), so verification fails with an
	// unknown authority.
	CertUntrusted
)

// CertOptions configure MakeCert.
type CertOptions struct {
	Kind CertKind
	IP   netip.Addr // the subjectAltName IP address (none when invalid)
	Now  time.Time  // the validity is around it; zero means time.Now()
	// DNSNames are subjectAltName DNS names beside IP (the first is the
	// common name), for a client that adds the server by name: chronyd
	// checks the certificate against the name it was given.
	DNSNames []string
	// IPs are further subjectAltName IP addresses.
	IPs []netip.Addr
}

// Cert is a certificate and key in PEM files.
type Cert struct {
	CertFile, KeyFile string // ntsservercert, ntsserverkey
	// TrustFile is what a client's ntstrustedcerts should name: CertFile,
	// or for CertUntrusted another self-signed certificate.
	TrustFile           string
	NotBefore, NotAfter time.Time
}

// MakeCert writes a self-signed ECDSA P-256 certificate (CA and server
// usage, subjectAltName o.IP, o.IPs and o.DNSNames) and its PKCS#8 key
// into dir.
func MakeCert(t testing.TB, dir string, o CertOptions) *Cert {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	c := &Cert{CertFile: filepath.Join(dir, "nts.crt"), KeyFile: filepath.Join(dir, "nts.key")}
	c.NotBefore, c.NotAfter = o.Now.Add(-time.Hour), o.Now.Add(24*time.Hour)
	if o.Kind == CertExpired {
		c.NotBefore, c.NotAfter = o.Now.Add(-48*time.Hour), o.Now.Add(-24*time.Hour)
	}
	san := subjectAltName{dns: o.DNSNames, ips: o.IPs}
	if o.IP.IsValid() {
		san.ips = append([]netip.Addr{o.IP}, o.IPs...)
	}
	cn := o.IP.String()
	if len(o.DNSNames) > 0 {
		cn = o.DNSNames[0]
	}
	if err := writeCert(c.CertFile, c.KeyFile, cn, san, c.NotBefore, c.NotAfter); err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	c.TrustFile = c.CertFile
	if o.Kind == CertUntrusted {
		c.TrustFile = filepath.Join(dir, "other-ca.crt")
		if err := writeCert(c.TrustFile, filepath.Join(dir, "other-ca.key"), "unrelated chronytest CA", san, c.NotBefore, c.NotAfter); err != nil {
			t.Fatalf("chronytest: %v", err)
		}
	}
	return c
}

// subjectAltName is a certificate's names.
type subjectAltName struct {
	dns []string
	ips []netip.Addr
}

func writeCert(certFile, keyFile, cn string, san subjectAltName, notBefore, notAfter time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"ntp-optimizer chronytest"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		DNSNames:              san.dns,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, ip := range san.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("creating a certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600)
}

// NTSServerOptions configure StartNTSServer.
type NTSServerOptions struct {
	Version Version  // V43 (default) or V46
	Kind    CertKind // the certificate it presents
	Now     time.Time
	// KEOnly makes the key exchange send clients to an NTP server where
	// nothing answers (ntsntpserver, a random loopback address): the key
	// exchange works, NTP does not. chronyd then moves the source to that
	// address.
	KEOnly bool
	// NAK makes the key exchange send clients to another NTS server's NTP
	// port (NTSServer.NAKServer), which cannot decrypt this server's
	// cookies and answers NTS NAK.
	NAK bool
	// Localhost makes the server listen on 127.0.0.1 and ::1 (NTP and
	// NTS-KE on the same random ports on both) with a certificate for the
	// DNS name localhost alone (no IP address: only a client that adds it
	// by the name "localhost" verifies it). Its resolver may give either
	// address: the host's /etc/hosts has only 127.0.0.1, the 4.6 chroot's
	// ::1 too, and chronyd 4.6 there goes to ::1. Addr is 127.0.0.1 and
	// Name "localhost" then. Not with KEOnly or NAK.
	Localhost bool
	Config    []string // extra chrony.conf lines
}

// NTSServer is a chronyd serving NTS-KE and NTP on a random loopback
// address.
type NTSServer struct {
	*Daemon
	// Name is the DNS name its certificate holds ("localhost" with
	// Localhost; "" otherwise, the certificate holds Addr).
	Name    string
	Addr    netip.Addr
	Port    int // NTP (UDP)
	NTSPort int // NTS-KE (TCP)
	Cert    *Cert
	// NTPAddr is where the key exchange sends clients: Addr, or with
	// KEOnly the silent address, with NAK NAKServer's address (on Port).
	NTPAddr   netip.Addr
	NAKServer *NTSServer // with NAK
}

// ntsReadyTimeout bounds the wait for the NTS-KE port to accept.
const ntsReadyTimeout = 5 * time.Second

// StartNTSServer starts a chronyd -x NTS server ("local stratum 2",
// ntsserverkey/ntsservercert with a certificate from MakeCert, ntsport,
// its own ntsdumpdir, NTS-KE in the main process) and waits until its
// NTS-KE port accepts. It skips or fails per Need when chronyd is missing,
// and skips when this chronyd is built without NTS.
func StartNTSServer(t testing.TB, o NTSServerOptions) *NTSServer {
	t.Helper()
	NeedNTS(t, o.Version)
	if o.NAK && o.KEOnly || o.Localhost && (o.NAK || o.KEOnly) {
		t.Fatalf("chronytest: NTSServerOptions: NAK, KEOnly and Localhost exclude each other")
	}
	var nak *NTSServer
	extra := o.Config
	if o.NAK {
		nak = StartNTSServer(t, NTSServerOptions{Version: o.Version, Now: o.Now})
		extra = append([]string{"ntsntpserver " + nak.Addr.String()}, extra...)
	}
	var silent netip.Addr
	if o.KEOnly {
		silent = randomLoopback()
		extra = append([]string{"ntsntpserver " + silent.String()}, extra...)
	}
	for try := 1; ; try++ {
		addr := randomLoopback()
		dir := tempDir(t, o.Version)
		co := CertOptions{Kind: o.Kind, IP: addr, Now: o.Now}
		var binds []string
		if o.Localhost {
			addr = netip.MustParseAddr("127.0.0.1")
			// The name alone: a client that adds the server by address
			// fails the certificate check.
			co.IP, co.DNSNames = netip.Addr{}, []string{"localhost"}
			binds = []string{"bindaddress ::1", "allow ::1"}
		}
		cert := MakeCert(t, dir, co)
		port, ntsPort := freePortOn(t, addr), freeTCPPortOn(t, addr)
		if nak != nil {
			// The port the key exchange announces is this server's own.
			port = nak.Port
		}
		if o.Localhost && !freeOn(ipv6Loopback, port, ntsPort) {
			if try == startTries {
				t.Fatalf("chronytest: no ports free on both 127.0.0.1 and ::1 after %d tries", try)
			}
			continue
		}
		dump := filepath.Join(dir, "ntsdump")
		if err := os.Mkdir(dump, 0o700); err != nil {
			t.Fatalf("chronytest: %v", err)
		}
		base := []string{
			"local stratum 2",
			"allow 127.0.0.0/8",
			"bindaddress " + addr.String(),
			fmt.Sprintf("port %d", port),
			"ntsserverkey " + cert.KeyFile,
			"ntsservercert " + cert.CertFile,
			fmt.Sprintf("ntsport %d", ntsPort),
			"ntsdumpdir " + dump,
			"ntsprocesses 0",
		}
		d := start(t, o.Version, Options{Version: o.Version, Config: extra}, append(base, binds...))
		ready := waitTCP(netip.AddrPortFrom(addr, uint16(ntsPort)), ntsReadyTimeout)
		if ready && o.Localhost {
			ready = waitTCP(netip.AddrPortFrom(ipv6Loopback, uint16(ntsPort)), ntsReadyTimeout) &&
				!freeOn(addr, port, 0) && !freeOn(ipv6Loopback, port, 0)
		}
		if ready {
			s := &NTSServer{Daemon: d, Addr: addr, Port: port, NTSPort: ntsPort, Cert: cert, NTPAddr: addr, NAKServer: nak}
			if o.Localhost {
				s.Name = "localhost"
			}
			switch {
			case o.NAK:
				s.NTPAddr = nak.Addr
			case o.KEOnly:
				s.NTPAddr = silent
			}
			return s
		}
		d.Kill()
		if try == startTries {
			t.Fatalf("chronytest: chronyd did not listen for NTS-KE on %s:%d after %d tries:\n%s", addr, ntsPort, try, d.Log())
		}
	}
}

// Line returns a chrony.conf/"add server" line for this server with NTS
// and the given extra options.
func (s *NTSServer) Line(options string) string {
	return strings.TrimSpace(fmt.Sprintf("server %s port %d nts ntsport %d %s", s.Addr, s.Port, s.NTSPort, options))
}

// ClientConfig returns the lines a client needs to use this server with
// NTS: ntstrustedcerts (Cert.TrustFile), an ntsdumpdir of its own under
// dir, and Line(options).
func (s *NTSServer) ClientConfig(t testing.TB, dir, options string) []string {
	t.Helper()
	dump := filepath.Join(dir, fmt.Sprintf("ntsdump-%s-%d", s.Addr, s.NTSPort))
	if err := os.MkdirAll(dump, 0o700); err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	return []string{"ntstrustedcerts " + s.Cert.TrustFile, "ntsdumpdir " + dump, s.Line(options)}
}

// StartNTSClient starts a client chronyd of s's release with s as its NTS
// source (iburst, polling every 0.25 s) plus extra lines.
func StartNTSClient(t testing.TB, s *NTSServer, extra ...string) *Daemon {
	t.Helper()
	dir := tempDir(t, s.Version)
	return Start(t, Options{Version: s.Version, Config: append(s.ClientConfig(t, dir, "iburst minpoll -2 maxpoll -2"), extra...)})
}

// NeedNTS is Need, and also skips the test when v's chronyd lacks NTS
// ("-NTS" in chronyd -v).
func NeedNTS(t testing.TB, v Version) {
	t.Helper()
	Need(t, v)
	if v == "" {
		v = V43
	}
	argv := append(command(v, "chronyd"), "-v")
	out, err := execOutput(argv)
	if err != nil {
		t.Fatalf("chronytest: %s -v: %v\n%s", strings.Join(argv, " "), err, out)
	}
	if !strings.Contains(out, "+NTS") {
		t.Skipf("chronyd %s is built without NTS: %s", v, strings.TrimSpace(out))
	}
}

// freeTCPPortOn returns a TCP port that is free on addr now.
func freeTCPPortOn(t testing.TB, addr netip.Addr) int {
	t.Helper()
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatalf("chronytest: finding a free TCP port on %s: %v", addr, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ipv6Loopback is ::1.
var ipv6Loopback = netip.IPv6Loopback()

// freeOn says UDP port udp (when non-zero) and TCP port tcp (when
// non-zero) are free on addr now.
func freeOn(addr netip.Addr, udp, tcp int) bool {
	if udp != 0 {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(udp))))
		if err != nil {
			return false
		}
		_ = c.Close()
	}
	if tcp != 0 {
		l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(tcp))))
		if err != nil {
			return false
		}
		_ = l.Close()
	}
	return true
}

// waitTCP waits until something accepts on a.
func waitTCP(a netip.AddrPort, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", a.String(), 200*time.Millisecond); err == nil {
			_ = c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func execOutput(argv []string) (string, error) {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

// SyncedOverNTS waits up to 20 s until d is synchronised to srv over NTS:
// authdata shows NTS with cookies and tracking's reference is srv.
func SyncedOverNTS(t testing.TB, d *Daemon, srv *NTSServer) bool {
	t.Helper()
	c := d.Client(t)
	a := chronyctl.AddrFromIP(srv.Addr)
	ctx := context.Background()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ad, err := c.AuthData(ctx, a)
		if err != nil {
			t.Fatalf("authdata: %v", err)
		}
		tr, err := c.Tracking(ctx)
		if err != nil {
			t.Fatalf("tracking: %v", err)
		}
		if ad.Mode == chronyctl.AuthNTS && ad.Cookies > 0 && tr.Address == a {
			return true
		}
	}
	return false
}
