package chronyctl

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults.
var (
	// DefaultSockets are tried in order when Config.Socket is empty:
	// Debian's and most distributions' path, then chrony's compiled-in
	// default (the same file where /var/run links to /run).
	DefaultSockets = []string{"/run/chrony/chronyd.sock", "/var/run/chrony/chronyd.sock"}
	// DefaultUDPAddrs are chronyd's UDP command port on loopback, tried in
	// order for the read-only fallback, as chronyc does.
	DefaultUDPAddrs = []string{"127.0.0.1:323", "[::1]:323"}
)

const (
	// DefaultTimeout is the wait after the first transmission of a
	// request; it doubles for each retransmission (chronyc: 1 s, 2 s, 4 s).
	DefaultTimeout = time.Second
	// DefaultAttempts is the number of transmissions per request
	// (chronyc's default "retries 2" plus the first).
	DefaultAttempts = 3
)

// Config says how to reach chronyd. The zero value is usable: the default
// sockets, no UDP fallback, chronyc's retry schedule, no logging.
type Config struct {
	// Socket is chronyd's Unix command socket; empty tries DefaultSockets.
	Socket string
	// UDPFallback lets Dial use chronyd's UDP command port when the Unix
	// socket cannot be used (missing, or permission denied as non-root).
	// Over UDP chronyd answers only monitoring requests (the Client is
	// ReadOnly): sources, sourcestats, tracking, names; not ntpdata or
	// selectdata before chrony 4.7, and no changes.
	UDPFallback bool
	// UDPAddrs are the UDP addresses (IP, or IP:port, port 323 by default)
	// for the fallback; empty means DefaultUDPAddrs.
	UDPAddrs []string
	// Timeout is the wait after the first transmission (default 1 s).
	Timeout time.Duration
	// Attempts is the number of transmissions per request (default 3).
	Attempts int
	// Logger receives debug messages about the exchange.
	Logger zerolog.Logger
}

// Validate checks the configuration and names the offending field.
func (c Config) Validate() error {
	if c.Timeout < 0 || c.Timeout > time.Minute {
		return fmt.Errorf("chrony timeout %s: want 0 (default %s) up to 1m", c.Timeout, DefaultTimeout)
	}
	if c.Attempts < 0 || c.Attempts > 10 {
		return fmt.Errorf("chrony attempts %d: want 0 (default %d) up to 10", c.Attempts, DefaultAttempts)
	}
	if len(c.Socket) > maxSocketPath {
		return fmt.Errorf("chrony socket %q: longer than %d bytes", c.Socket, maxSocketPath)
	}
	for _, a := range c.UDPAddrs {
		if _, err := ParseUDPAddr(a); err != nil {
			return err
		}
	}
	return nil
}

// ParseUDPAddr parses a chronyd UDP command address: an IP literal with an
// optional port ("127.0.0.1", "[::1]:323", "127.0.0.1:10323").
func ParseUDPAddr(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("chrony address %q: want an IP address with an optional port, e.g. 127.0.0.1:323", s)
	}
	return netip.AddrPortFrom(ip, 323), nil
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Attempts == 0 {
		c.Attempts = DefaultAttempts
	}
	if len(c.UDPAddrs) == 0 {
		c.UDPAddrs = DefaultUDPAddrs
	}
	return c
}

// Client talks to one chronyd. It is safe for concurrent use; concurrent
// requests are pipelined on the one socket.
type Client struct {
	t        *transport
	remote   string
	udp      bool
	local    string // bound client socket file, removed by Close
	fallback error  // why the Unix socket was not used (UDP only)
	log      zerolog.Logger

	capMu   sync.Mutex
	refused map[uint16]error // requests this daemon refused with 502 (or 501 over UDP)

	closeOnce sync.Once
	closeErr  error
}

// NewClient returns a Client on conn, an already connected datagram socket
// to chronyd (a Unix socket must be bound to a path chronyd can write to).
// remote names it in messages; udp marks it as a UDP (read-only) channel.
// The Client owns conn and closes it on Close.
func NewClient(conn net.Conn, remote string, udp bool, cfg Config) *Client {
	cfg = cfg.withDefaults()
	return &Client{
		t:       newTransport(conn, remote, cfg.Timeout, cfg.Attempts, cfg.Logger),
		remote:  remote,
		udp:     udp,
		log:     cfg.Logger,
		refused: make(map[uint16]error),
	}
}

// Remote returns the socket path or UDP address the Client talks to.
func (c *Client) Remote() string { return c.remote }

// ReadOnly reports whether the Client uses chronyd's UDP command port,
// where chronyd refuses every change and some reads.
func (c *Client) ReadOnly() bool { return c.udp }

// Fallback returns why the Unix socket could not be used when Dial fell
// back to UDP, or nil.
func (c *Client) Fallback() error { return c.fallback }

// Close closes the socket and removes the client socket file.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.t.conn.Close()
		if c.local != "" {
			if err := os.Remove(c.local); err != nil && !os.IsNotExist(err) && c.closeErr == nil {
				c.closeErr = err
			}
		}
	})
	return c.closeErr
}

// do sends cmd with body and maps the reply status to an error.
func (c *Client) do(ctx context.Context, cmd uint16, body []byte, check retryCheck) ([]byte, bool, error) {
	return c.doRaw(ctx, cmd, newRequest(cmd, body), check)
}

// doRaw is do for a complete request datagram.
func (c *Client) doRaw(ctx context.Context, cmd uint16, req []byte, check retryCheck) ([]byte, bool, error) {
	c.capMu.Lock()
	err := c.refused[cmd]
	c.capMu.Unlock()
	if err != nil {
		return nil, false, err
	}
	reply, retransmitted, err := c.t.exchange(ctx, cmd, req, check)
	if err != nil || reply == nil {
		return nil, retransmitted, err
	}
	h, _ := parseReplyHeader(reply)
	if h.status == 0 {
		return reply, retransmitted, nil
	}
	se := &StatusError{Command: commandName(cmd), Status: h.status}
	// Remember what this daemon cannot do: 502 is an unknown request,
	// 501 over UDP a request that needs the Unix socket.
	if h.status == 3 || (h.status == 2 && c.udp) {
		c.capMu.Lock()
		c.refused[cmd] = se
		c.capMu.Unlock()
	}
	return nil, retransmitted, se
}
