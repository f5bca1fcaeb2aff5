package chronytest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// startTries bounds the attempts to find a free address and port.
const startTries = 5

// ServerOptions configure an NTP server started by StartServer.
type ServerOptions struct {
	Version Version  // V43 (default) or V46
	Stratum int      // "local stratum N"; default 2
	Config  []string // extra chrony.conf lines
}

// Server is a chronyd serving NTP on loopback from its local clock.
type Server struct {
	*Daemon
	Addr netip.Addr // a random 127.x.y.z
	Port int        // a random free port
}

// StartServer starts a chronyd that serves NTP at a random 127.x.y.z and
// port ("local stratum N", "allow 127.0.0.0/8"), retrying with another
// address when the port is taken.
func StartServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	if o.Stratum == 0 {
		o.Stratum = 2
	}
	for try := 1; ; try++ {
		addr := randomLoopback()
		port := freePortOn(t, addr)
		base := []string{
			fmt.Sprintf("local stratum %d", o.Stratum),
			"allow 127.0.0.0/8",
			"bindaddress " + addr.String(),
			fmt.Sprintf("port %d", port),
		}
		d := start(t, o.Version, Options{Version: o.Version, Config: o.Config}, base)
		// chronyd only logs a failed NTP bind; if the port is still free,
		// it is not serving.
		if c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port)))); err == nil {
			_ = c.Close()
			d.Kill()
			if try == startTries {
				t.Fatalf("chronytest: chronyd did not bind %s:%d after %d tries:\n%s", addr, port, try, d.Log())
			}
			continue
		}
		return &Server{Daemon: d, Addr: addr, Port: port}
	}
}

// Line returns a chrony.conf/"add server" line for this server with the
// given extra options, e.g. s.Line("iburst minpoll -2 maxpoll -2").
func (s *Server) Line(options string) string {
	return strings.TrimSpace(fmt.Sprintf("server %s port %d %s", s.Addr, s.Port, options))
}

// randomLoopback returns a random address in 127.1.0.1 - 127.254.255.254,
// away from 127.0.0.0/16, which other software uses.
func randomLoopback() netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
}

// freePortOn returns a UDP port that is free on addr now.
func freePortOn(t testing.TB, addr netip.Addr) int {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatalf("chronytest: finding a free port on %s: %v", addr, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
