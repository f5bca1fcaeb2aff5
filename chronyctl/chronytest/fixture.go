package chronytest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Exchange is one captured request and chronyd's reply datagram.
type Exchange struct {
	Note    string // what the request was, e.g. the chronyc command
	Request []byte
	Reply   []byte
}

// Fixture is a set of captured exchanges, stored as text: "# " comment
// lines (how it was captured), then for each exchange an optional "## "
// note line, a "> HEX" request line (trailing zero padding dropped) and a
// "< HEX" reply line.
type Fixture struct {
	Comment   []string
	Exchanges []Exchange
}

// ReadFixture loads a fixture file.
func ReadFixture(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &Fixture{}
	note := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "##"):
			note = strings.TrimSpace(line[2:])
		case strings.HasPrefix(line, "#"):
			f.Comment = append(f.Comment, strings.TrimSpace(line[1:]))
		case strings.HasPrefix(line, "> "), strings.HasPrefix(line, "< "):
			data, err := hex.DecodeString(line[2:])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			if line[0] == '>' {
				f.Exchanges = append(f.Exchanges, Exchange{Note: note, Request: data})
				note = ""
			} else if len(f.Exchanges) == 0 || f.Exchanges[len(f.Exchanges)-1].Reply != nil {
				return nil, fmt.Errorf("%s:%d: reply without a request", path, n)
			} else {
				f.Exchanges[len(f.Exchanges)-1].Reply = data
			}
		default:
			return nil, fmt.Errorf("%s:%d: want '#', '> ' or '< '", path, n)
		}
	}
	return f, sc.Err()
}

// Write stores the fixture at path.
func (f *Fixture) Write(path string) error {
	var b strings.Builder
	for _, c := range f.Comment {
		fmt.Fprintf(&b, "# %s\n", c)
	}
	for _, x := range f.Exchanges {
		if x.Note != "" {
			fmt.Fprintf(&b, "## %s\n", x.Note)
		}
		fmt.Fprintf(&b, "> %x\n< %x\n", requestKey(x.Request), x.Reply)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// requestKey is what identifies a request: its header without sequence
// and attempt, and its body without trailing zero padding, so requests of
// different clients (chronyc pads less than the library) match.
func requestKey(req []byte) []byte {
	if len(req) < 20 {
		return req
	}
	k := bytes.Clone(req)
	clear(k[6:12])
	return bytes.TrimRight(k, "\x00")
}

// Reply returns the captured reply for req with req's sequence number, as
// chronyd would send it.
func (f *Fixture) Reply(req []byte) ([]byte, bool) {
	key := requestKey(req)
	for _, x := range f.Exchanges {
		if bytes.Equal(requestKey(x.Request), key) && len(x.Reply) >= 20 {
			r := bytes.Clone(x.Reply)
			copy(r[16:20], req[8:12])
			return r, true
		}
	}
	return nil, false
}

// Fake is a fake chronyd command socket answering from a Fixture.
type Fake struct {
	Socket string // the socket path to give chronyc -h or chronyctl

	mu       sync.Mutex
	requests [][]byte
}

// Requests returns the request datagrams received so far.
func (f *Fake) Requests() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Serve serves f on a fake chronyd command socket in a temporary directory;
// chronyc and chronyctl can talk to it. A request the fixture lacks is
// answered "502 Invalid command". It stops at the end of the test.
func Serve(t testing.TB, f *Fixture) *Fake {
	t.Helper()
	dir, err := os.MkdirTemp("", "ntpo")
	if err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	fake := &Fake{Socket: filepath.Join(dir, "chronyd.sock")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: fake.Socket, Net: "unixgram"})
	if err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			req := bytes.Clone(buf[:n])
			fake.mu.Lock()
			fake.requests = append(fake.requests, req)
			fake.mu.Unlock()
			reply, ok := f.Reply(req)
			if !ok && n >= 20 {
				reply = NullReply(req, 3) // STT_INVALID
			}
			if reply != nil && from != nil {
				_, _ = conn.WriteToUnix(reply, from)
			}
		}
	}()
	return fake
}

// NullReply returns chronyd's RPY_NULL answer to req with the given status
// (0 success, 3 invalid command, ...).
func NullReply(req []byte, status uint16) []byte {
	reply := make([]byte, 28)
	reply[0], reply[1] = req[0], 2
	copy(reply[4:6], req[4:6])
	binary.BigEndian.PutUint16(reply[6:], 1) // RPY_NULL
	binary.BigEndian.PutUint16(reply[8:], status)
	copy(reply[16:20], req[8:12])
	return reply
}
