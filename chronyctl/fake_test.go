package chronyctl

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeDaemon is a byte-level fake chronyd for the transport tests: it
// keeps a source list (address and name), answers N_SOURCES,
// SOURCE_DATA, NTP_SOURCE_NAME, ADD_SOURCE, DEL_SOURCE and TRACKING in
// candm.h's layouts, and lets a test drop, delay, corrupt or reorder
// replies.
type fakeDaemon struct {
	mu       sync.Mutex
	sources  []fakeSource
	nextID   uint32
	received [][]byte
	// hook may replace the replies to a request (nil: answer normally).
	// n counts earlier requests with the same command.
	hook func(req []byte, n int, answer func() []byte) [][]byte
	// status, when set, answers every request with that status.
	status uint16
}

type fakeSource struct {
	addr Addr
	name string
}

// newFake connects a Client to d over a Unix datagram socket pair.
func newFake(t *testing.T, d *fakeDaemon, udp bool, cfg Config) *Client {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "fake")
		c, err := net.FileConn(f)
		require.NoError(t, err)
		_ = f.Close()
		return c
	}
	client, server := conn(fds[0]), conn(fds[1])
	t.Cleanup(func() { _ = server.Close() })
	go d.serve(server)
	c := NewClient(client, "fake", udp, cfg)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (d *fakeDaemon) serve(conn net.Conn) {
	buf := make([]byte, 2048)
	counts := map[uint16]int{}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		req := bytes.Clone(buf[:n])
		cmd := binary.BigEndian.Uint16(req[4:])
		d.mu.Lock()
		d.received = append(d.received, req)
		hook := d.hook
		d.mu.Unlock()
		answer := func() []byte { return d.answer(req) }
		var replies [][]byte
		if hook != nil {
			replies = hook(req, counts[cmd], answer)
		} else {
			replies = [][]byte{answer()}
		}
		counts[cmd]++
		for _, r := range replies {
			_, _ = conn.Write(r)
		}
	}
}

// requests returns the received requests with command cmd.
func (d *fakeDaemon) requests(cmd uint16) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out [][]byte
	for _, r := range d.received {
		if binary.BigEndian.Uint16(r[4:]) == cmd {
			out = append(out, r)
		}
	}
	return out
}

// reply builds a reply datagram to req.
func reply(req []byte, rpy, status uint16, body []byte) []byte {
	b := make([]byte, replyHeaderLen+len(body))
	b[0], b[1] = protoVersion, pktTypeReply
	copy(b[4:6], req[4:6])
	binary.BigEndian.PutUint16(b[6:], rpy)
	binary.BigEndian.PutUint16(b[8:], status)
	copy(b[16:20], req[8:12])
	copy(b[replyHeaderLen:], body)
	return b
}

func (d *fakeDaemon) answer(req []byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.status != 0 {
		return reply(req, rpyNull, d.status, nil)
	}
	be := binary.BigEndian
	cmd := be.Uint16(req[4:])
	switch cmd {
	case cmdNSources:
		body := make([]byte, 4)
		be.PutUint32(body, uint32(len(d.sources)))
		return reply(req, rpyNSources, 0, body)
	case cmdSourceData:
		i := int(be.Uint32(req[20:]))
		if i >= len(d.sources) {
			return reply(req, rpyNull, 4, nil)
		}
		body := make([]byte, 48)
		putIPAddr(body, d.sources[i].addr)
		be.PutUint16(body[20:], 6)          // poll
		be.PutUint16(body[24:], 1)          // state ?
		be.PutUint32(body[32:], 0xFFFFFFFF) // no sample
		return reply(req, rpySourceData, 0, body)
	case cmdNTPSourceName:
		for _, s := range d.sources {
			if ipAddrBytes(s.addr) == [20]byte(req[20:40]) {
				body := make([]byte, 256)
				copy(body, s.name)
				return reply(req, rpyNTPSourceName, 0, body)
			}
		}
		return reply(req, rpyNull, 4, nil)
	case cmdAddSource:
		name := string(bytes.TrimRight(req[24:280], "\x00"))
		a := Addr{}
		if ip, err := netip.ParseAddr(name); err == nil {
			a = AddrFromIP(ip)
			for _, s := range d.sources {
				if s.addr == a {
					return reply(req, rpyNull, 11, nil)
				}
			}
		} else {
			d.nextID++
			a = IDAddr(d.nextID)
		}
		d.sources = append(d.sources, fakeSource{addr: a, name: name})
		return reply(req, rpyNull, 0, nil)
	case cmdDelSource:
		for i, s := range d.sources {
			if ipAddrBytes(s.addr) == [20]byte(req[20:40]) {
				d.sources = append(d.sources[:i], d.sources[i+1:]...)
				return reply(req, rpyNull, 0, nil)
			}
		}
		return reply(req, rpyNull, 4, nil)
	case cmdTracking:
		body := make([]byte, 76)
		be.PutUint32(body[0:], 0x7F000005)
		putIPAddr(body[4:], AddrFromIP(netip.MustParseAddr("127.0.0.5")))
		be.PutUint16(body[24:], 3)                       // stratum
		be.PutUint32(body[48:], encodeFloat(-0.5e-6))    // last offset
		be.PutUint32(body[64:], encodeFloat(6.25e-6))    // root delay
		be.PutUint32(body[72:], encodeFloat(0.25403935)) // update interval
		return reply(req, rpyTracking, 0, body)
	}
	return reply(req, rpyNull, 3, nil)
}

func ipAddrBytes(a Addr) [20]byte {
	var b [20]byte
	putIPAddr(b[:], a)
	return b
}
