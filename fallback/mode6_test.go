package fallback

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeNTPD is a byte-level mode 6 responder: READSTAT answers with the
// association list, READVAR with each association's variables, split over
// several packets (the More bit) when splitVars is set, as ntpd does for
// long answers.
type fakeNTPD struct {
	conn      *net.UDPConn
	assocs    map[uint16]uint16 // id -> peer status word
	vars      map[uint16]string
	splitVars bool
	errorOp   int  // answer this op with the error bit
	badSeq    bool // answer with a wrong sequence number
	silent    bool // never answer (noquery)
	order     []uint16
}

// listenLoopback binds UDP on a random 127.x.y.z address and ephemeral
// port, retrying on EADDRINUSE.
func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	for range 20 {
		ip := net.IPv4(127, byte(rand.IntN(250)+1), byte(rand.IntN(250)+1), byte(rand.IntN(250)+1))
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
	}
	t.Fatal("no free loopback address")
	return nil
}

func startFakeNTPD(t *testing.T, f *fakeNTPD) string {
	f.conn = listenLoopback(t)
	go f.serve()
	return f.conn.LocalAddr().String()
}

func (f *fakeNTPD) serve() {
	buf := make([]byte, 1024)
	for {
		n, from, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 || buf[0]&7 != 6 || f.silent {
			continue
		}
		op := int(buf[1] & 0x1f)
		seq := binary.BigEndian.Uint16(buf[2:])
		assoc := binary.BigEndian.Uint16(buf[6:])
		if f.badSeq {
			seq++
		}
		var data []byte
		switch op {
		case 1:
			for _, id := range f.order {
				data = binary.BigEndian.AppendUint16(data, id)
				data = binary.BigEndian.AppendUint16(data, f.assocs[id])
			}
		case 2:
			data = []byte(f.vars[assoc])
		}
		chunks := [][]byte{data}
		if f.splitVars && op == 2 && len(data) > 10 {
			chunks = [][]byte{data[:10], data[10:]}
		}
		for i, c := range chunks {
			rem := byte(0x80 | op)
			if i < len(chunks)-1 {
				rem |= 0x20
			}
			if op == f.errorOp {
				rem |= 0x40
			}
			pkt := []byte{buf[0], rem, 0, 0, 0x06, 0x15, 0, 0, 0, 0, 0, 0}
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint16(pkt[6:], assoc)
			binary.BigEndian.PutUint16(pkt[10:], uint16(len(c)))
			_, _ = f.conn.WriteToUDP(append(pkt, c...), from)
		}
	}
}

func TestMode6Peers(t *testing.T) {
	base := func() *fakeNTPD {
		return &fakeNTPD{
			order: []uint16{0x1a2b, 0x1a2c},
			// 0x961a: configured + reachable, sys.peer; 0x8011: configured, unreachable.
			assocs: map[uint16]uint16{0x1a2b: 0x961a, 0x1a2c: 0x8011},
			vars: map[uint16]string{
				0x1a2b: "srcadr=192.0.2.10, srcport=123, srchost=\"time.example.org\", stratum=2, reach=0x3f,\r\nflash=0x0",
				0x1a2c: "srcadr=0.0.0.0, srchost=\"a, quoted, comma\", stratum=16, reach=0x00",
			},
		}
	}
	tests := []struct {
		name    string
		mod     func(*fakeNTPD)
		want    []Peer
		wantErr string
	}{
		{name: "two associations", want: []Peer{
			{AssocID: 0x1a2b, Addr: "192.0.2.10", Name: "time.example.org", Reach: 0x3f, Reachable: true, Selection: "sys.peer", Stratum: 2},
			{AssocID: 0x1a2c, Addr: "0.0.0.0", Name: "a, quoted, comma", Reach: 0, Reachable: false, Selection: "reject", Stratum: 16},
		}},
		{name: "variables over several packets", mod: func(f *fakeNTPD) { f.splitVars = true }, want: []Peer{
			{AssocID: 0x1a2b, Addr: "192.0.2.10", Name: "time.example.org", Reach: 0x3f, Reachable: true, Selection: "sys.peer", Stratum: 2},
			{AssocID: 0x1a2c, Addr: "0.0.0.0", Name: "a, quoted, comma", Reach: 0, Reachable: false, Selection: "reject", Stratum: 16},
		}},
		{name: "no associations", mod: func(f *fakeNTPD) { f.order = nil }},
		{name: "error bit", mod: func(f *fakeNTPD) { f.errorOp = 2 }, wantErr: "error code"},
		{name: "wrong sequence", mod: func(f *fakeNTPD) { f.badSeq = true }, wantErr: "sequence"},
		{name: "no answer (noquery)", mod: func(f *fakeNTPD) { f.silent = true }, wantErr: "does not answer mode 6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			if tc.mod != nil {
				tc.mod(f)
			}
			addr := startFakeNTPD(t, f)
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			peers, err := Mode6{Addr: addr}.Peers(ctx)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, peers)
		})
	}
}

func TestParseVars(t *testing.T) {
	got := parseVars(`a=1, b="x, y",c=, d, e = 0x3f` + "\r\n")
	require.Equal(t, map[string]string{"a": "1", "b": "x, y", "c": "", "d": "", "e": "0x3f"}, got)
}

func FuzzParseVars(f *testing.F) {
	f.Add(`srcadr=192.0.2.10, srcport=123, srchost="time.example.org", reach=0x3f`)
	f.Add(`a="unterminated, b=1`)
	f.Fuzz(func(t *testing.T, s string) {
		for k := range parseVars(s) {
			if k == "" {
				t.Fatalf("empty key from %q", s)
			}
		}
	})
}

func ExampleMode6() {
	peers, err := Mode6{Addr: "127.0.0.1:123"}.Peers(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range peers {
		fmt.Println(p.Addr, p.Reach)
	}
}
