package chronyctl

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxSocketPath is the longest Unix socket path (sun_path is 108 bytes
// with the terminating NUL).
const maxSocketPath = 107

// DialError explains why chronyd's command socket could not be used, in
// words an operator can act on. errors.Is matches the underlying errno,
// e.g. fs.ErrNotExist, fs.ErrPermission or syscall.ECONNREFUSED.
type DialError struct {
	Path string
	Msg  string
	Err  error
}

func (e *DialError) Error() string { return e.Msg }
func (e *DialError) Unwrap() error { return e.Err }

// Dial connects to chronyd: its Unix command socket (Config.Socket, or
// DefaultSockets in order), and if that cannot be used and
// Config.UDPFallback is set, its UDP command port. Over UDP it sends one
// N_SOURCES request to make sure chronyd answers there.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	sockets := DefaultSockets
	if cfg.Socket != "" {
		sockets = []string{cfg.Socket}
	}
	var sockErr error
	for _, path := range sockets {
		c, err := dialUnix(path, cfg)
		if err == nil {
			return c, nil
		}
		// Keep the first error, unless it only says the file is missing
		// and a later path says more.
		if sockErr == nil || (errors.Is(sockErr, fs.ErrNotExist) && !errors.Is(err, fs.ErrNotExist)) {
			sockErr = err
		}
	}
	if !cfg.UDPFallback {
		return nil, sockErr
	}
	var udpErrs []error
	for _, addr := range cfg.UDPAddrs {
		c, err := dialUDP(ctx, addr, cfg)
		if err == nil {
			c.fallback = sockErr
			cfg.Logger.Debug().Err(sockErr).Str("addr", addr).Msg("using chronyd's UDP command port")
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		udpErrs = append(udpErrs, err)
	}
	return nil, &fallbackError{sockErr: sockErr, udp: udpErrs}
}

// dialUnix binds a client socket beside the server socket (chronyd sends
// no reply to an unbound or abstract socket), makes it writable for
// chronyd's user (0666) and connects it.
func dialUnix(path string, cfg Config) (*Client, error) {
	if err := checkSocket(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	removeStaleSockets(dir)
	local := filepath.Join(dir, fmt.Sprintf("ntp-optimizer.%d.%s.sock", os.Getpid(), randomName()))
	if len(local) > maxSocketPath {
		return nil, &DialError{Path: path, Err: syscall.ENAMETOOLONG,
			Msg: fmt.Sprintf("the client socket path %s would be longer than %d bytes: use a shorter socket directory", local, maxSocketPath)}
	}
	conn, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"}, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		_ = os.Remove(local)
		return nil, unixDialError(path, dir, err)
	}
	if err := os.Chmod(local, 0o666); err != nil {
		_ = conn.Close()
		_ = os.Remove(local)
		return nil, fmt.Errorf("making the client socket %s writable for chronyd: %w", local, err)
	}
	c := NewClient(conn, path, false, cfg)
	c.local = local
	return c, nil
}

// clientSocketPID returns the PID in the name of a client socket as
// dialUnix names them, ntp-optimizer.<pid>.<randomName()>.sock; ok is
// false for any other name.
func clientSocketPID(name string) (pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, "ntp-optimizer.")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".sock")
	num, random, dot := strings.Cut(rest, ".")
	if !ok || !dot || len(num) == 0 || len(num) > 10 || num[0] == '0' || len(random) != 16 {
		return 0, false
	}
	for _, r := range num {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	for _, r := range random {
		if (r < 'a' || r > 'z') && (r < '2' || r > '7') {
			return 0, false
		}
	}
	pid, err := strconv.Atoi(num)
	return pid, err == nil
}

// removeStaleSockets removes the client sockets that runs killed before
// Close left in chronyd's socket directory, so they do not pile up. Only
// a file named as dialUnix names them, that is a socket (not a link), of
// a PID that does not exist, and that nothing has bound any more
// (connecting is refused: a process of another PID namespace may share
// the directory) is removed. Errors are ignored: this is housekeeping.
func removeStaleSockets(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := clientSocketPID(e.Name())
		if !ok || e.Type() != fs.ModeSocket || pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		file := filepath.Join(dir, e.Name())
		if c, err := net.Dial("unixgram", file); err == nil {
			_ = c.Close()
			continue
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			continue
		}
		_ = os.Remove(file)
	}
}

// checkSocket explains a socket path that cannot be used before trying it.
func checkSocket(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Mode().Type() != fs.ModeSocket:
		return &DialError{Path: path, Err: syscall.ENOTSOCK, Msg: fmt.Sprintf("%s is not a socket: is it chronyd's command socket (bindcmdaddress)?", path)}
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrPermission):
		return &DialError{Path: path, Err: err, Msg: fmt.Sprintf("permission denied reaching chronyd's command socket %s: run as root (or as chronyd's user)", path)}
	case errors.Is(err, fs.ErrNotExist):
		return &DialError{Path: path, Err: err, Msg: notThereMessage(path)}
	}
	return &DialError{Path: path, Err: err, Msg: fmt.Sprintf("chronyd's command socket %s: %v", path, err)}
}

// notThereMessage says why a socket is missing: chronyd is not running,
// the path is mistyped (its directory is missing too), or chronyd refused
// a socket directory that others can access (chronyd disables its command
// socket then: "Wrong permissions on DIR"). The last hint is only given
// for a directory that is chronyd's own (see chronySocketDir): every
// ordinary directory (/, /run, a home) has mode 0755, and a mistyped
// --chrony-socket there is not chronyd's doing.
func notThereMessage(path string) string {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && isDefaultSocket(path):
		// Debian's and Fedora's units remove /run/chrony when chronyd stops.
		return fmt.Sprintf("chronyd's command socket %s does not exist, nor does its directory %s: is chronyd running? (its service removes the directory when it stops)", path, dir)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("chronyd's command socket %s does not exist, nor does its directory %s: is the path right (chronyd's bindcmdaddress)?", path, dir)
	case err == nil && fi.IsDir() && fi.Mode().Perm()&0o007 != 0 && chronySocketDir(dir):
		return fmt.Sprintf("chronyd's command socket %s does not exist, and its directory %s has mode %04o: chronyd disables its command socket when the directory is open to others; make it 0750 or 0770, owned by chronyd's user, and restart chronyd",
			path, dir, fi.Mode().Perm())
	}
	return fmt.Sprintf("chronyd's command socket %s does not exist: is chronyd running?", path)
}

// isDefaultSocket reports whether path is one of chronyd's default
// command sockets.
func isDefaultSocket(path string) bool {
	for _, s := range DefaultSockets {
		if s == path {
			return true
		}
	}
	return false
}

// chronySocketDir reports whether dir is one chronyd creates for its
// command socket: the directory of a default socket (/run/chrony,
// /var/run/chrony) or another one named for chrony (a bindcmdaddress such
// as /var/lib/chrony-lab/chronyd.sock).
func chronySocketDir(dir string) bool {
	for _, s := range DefaultSockets {
		if filepath.Dir(s) == dir {
			return true
		}
	}
	return strings.Contains(filepath.Base(dir), "chrony")
}

func unixDialError(path, dir string, err error) error {
	var se *os.SyscallError
	step := ""
	if errors.As(err, &se) {
		step = se.Syscall
	}
	switch {
	case step == "bind" && errors.Is(err, fs.ErrPermission):
		return &DialError{Path: path, Err: err, Msg: fmt.Sprintf("cannot create a client socket in %s (permission denied): run as root (or as chronyd's user)", dir)}
	case errors.Is(err, fs.ErrPermission):
		return &DialError{Path: path, Err: err, Msg: fmt.Sprintf("permission denied on chronyd's command socket %s: run as root (or as chronyd's user)", path)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &DialError{Path: path, Err: err, Msg: fmt.Sprintf("nothing listens on chronyd's command socket %s (a stale file?): is chronyd running?", path)}
	case errors.Is(err, fs.ErrNotExist):
		return &DialError{Path: path, Err: err, Msg: notThereMessage(path)}
	}
	return &DialError{Path: path, Err: err, Msg: fmt.Sprintf("connecting to chronyd's command socket %s: %v", path, err)}
}

// randomName returns 16 unpredictable characters for the client socket
// name, so another local user cannot prepare a file or link under it.
// math/rand/v2's generator is ChaCha8 seeded from the kernel's entropy;
// crypto/rand would cost a short-lived command measurable start-up time.
func randomName() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:10]))
}

// fallbackError is a socket error after which the UDP fallback failed
// too; it matches the socket error with errors.Is.
type fallbackError struct {
	sockErr error
	udp     []error
}

func (e *fallbackError) Error() string {
	msgs := make([]string, len(e.udp))
	for i, err := range e.udp {
		// The first clause says it: "nothing listens on ADDR".
		msgs[i], _, _ = strings.Cut(err.Error(), ": ")
	}
	return fmt.Sprintf("%v (read-only fallback to chronyd's UDP command port: %s)", e.sockErr, strings.Join(msgs, "; "))
}

func (e *fallbackError) Unwrap() error { return e.sockErr }
