package chronyctl

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fast is a configuration with short waits for the fake daemon.
var fast = Config{Timeout: 20 * time.Millisecond, Attempts: 3}

func TestIgnoresRepliesThatDoNotMatch(t *testing.T) {
	d := &fakeDaemon{hook: func(req []byte, _ int, answer func() []byte) [][]byte {
		good := answer()
		corrupt := func(f func(b []byte)) []byte {
			b := append([]byte(nil), good...)
			f(b)
			return b
		}
		return [][]byte{
			corrupt(func(b []byte) { b[16] ^= 0xFF }),                         // other sequence
			corrupt(func(b []byte) { binary.BigEndian.PutUint16(b[4:], 14) }), // other command
			corrupt(func(b []byte) { b[0] = 5 }),                              // other version
			corrupt(func(b []byte) { b[1] = 1 }),                              // a request
			corrupt(func(b []byte) { b[2] = 1 }),                              // res1 set
			good[:20],                                                         // shorter than a header
			good[:100],                                                        // a success shorter than its reply type
			good,
		}
	}}
	c := newFake(t, d, false, fast)
	tr, err := c.Tracking(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3, tr.Stratum)
	require.Equal(t, "127.0.0.5", tr.Address.String())
	require.InDelta(t, 6.25e-6, tr.RootDelay, 1e-12)
	require.Len(t, d.requests(cmdTracking), 1, "the good reply came within the first wait")
}

func TestRetransmitsWithNewSequence(t *testing.T) {
	d := &fakeDaemon{hook: func(req []byte, n int, answer func() []byte) [][]byte {
		if n < 2 {
			return nil // lose the first two replies
		}
		return [][]byte{answer()}
	}}
	c := newFake(t, d, false, fast)
	_, err := c.Tracking(context.Background())
	require.NoError(t, err)
	reqs := d.requests(cmdTracking)
	require.Len(t, reqs, 3)
	seqs := map[uint32]bool{}
	for i, r := range reqs {
		require.Equal(t, uint16(i), binary.BigEndian.Uint16(r[6:]), "attempt counter")
		seqs[binary.BigEndian.Uint32(r[8:])] = true
		require.GreaterOrEqual(t, len(r), 104, "TRACKING padded to its reply's length")
	}
	require.Len(t, seqs, 3, "a new sequence number per transmission")
}

func TestNoReplyIsBounded(t *testing.T) {
	d := &fakeDaemon{hook: func([]byte, int, func() []byte) [][]byte { return nil }}
	c := newFake(t, d, false, Config{Timeout: 10 * time.Millisecond, Attempts: 3})
	start := time.Now()
	_, err := c.NumSources(context.Background())
	elapsed := time.Since(start)
	var nre *NoReplyError
	require.ErrorAs(t, err, &nre)
	require.ErrorIs(t, err, ErrNoReply)
	require.Equal(t, 3, nre.Transmissions)
	require.Contains(t, err.Error(), "no reply from chronyd at fake to N_SOURCES after 3 transmissions")
	require.GreaterOrEqual(t, elapsed, 70*time.Millisecond, "10 + 20 + 40 ms")
	require.Less(t, elapsed, time.Second)
	require.Len(t, d.requests(cmdNSources), 3)
}

func TestContextDeadlineEndsTheWait(t *testing.T) {
	d := &fakeDaemon{hook: func([]byte, int, func() []byte) [][]byte { return nil }}
	c := newFake(t, d, false, Config{}) // chronyc's 1 s, 2 s, 4 s
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Tracking(ctx)
	require.ErrorIs(t, err, ErrNoReply)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "within the deadline")
	require.Less(t, time.Since(start), 500*time.Millisecond)
}

func TestUnknownReplyType(t *testing.T) {
	d := &fakeDaemon{hook: func(req []byte, _ int, answer func() []byte) [][]byte {
		r := answer()
		binary.BigEndian.PutUint16(r[6:], 99)
		return [][]byte{r}
	}}
	c := newFake(t, d, false, fast)
	_, err := c.Tracking(context.Background())
	var rte *ReplyTypeError
	require.ErrorAs(t, err, &rte)
	require.ErrorIs(t, err, ErrUnexpectedReply)
	require.Equal(t, &ReplyTypeError{Command: "TRACKING", ReplyType: 99}, rte)
	require.Contains(t, err.Error(), "TRACKING with reply type 99")
}

func TestStatusBecomesTypedError(t *testing.T) {
	for status, want := range map[uint16]error{1: ErrFailed, 2: ErrUnauthorised, 4: ErrNoSuchSource, 11: ErrSourceExists, 18: ErrBadPacketVersion, 19: ErrBadPacketLength, 21: ErrInvalidName, 77: ErrUnknownStatus} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c := newFake(t, &fakeDaemon{status: status}, false, fast)
			_, err := c.NumSources(context.Background())
			require.ErrorIs(t, err, want)
			var se *StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, StatusError{Command: "N_SOURCES", Status: status}, *se)
		})
	}
}

func TestPipelinedRepliesMatchBySequence(t *testing.T) {
	// The fake holds replies until four requests are in, then answers
	// them in reverse order.
	var mu sync.Mutex
	var held [][]byte
	d := &fakeDaemon{}
	d.hook = func(req []byte, _ int, answer func() []byte) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, answer())
		if len(held) < 4 {
			return nil
		}
		out := make([][]byte, 0, 4)
		for i := len(held) - 1; i >= 0; i-- {
			out = append(out, held[i])
		}
		held = nil
		return out
	}
	for i := range 4 {
		d.sources = append(d.sources, fakeSource{addr: IDAddr(uint32(i + 1)), name: fmt.Sprintf("s%d.example", i)})
	}
	c := newFake(t, d, false, Config{Timeout: 2 * time.Second, Attempts: 1})
	var wg sync.WaitGroup
	names := make([]string, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() { names[i], errs[i] = c.SourceName(context.Background(), IDAddr(uint32(i+1))) })
	}
	wg.Wait()
	for i := range 4 {
		require.NoError(t, errs[i])
		require.Equal(t, fmt.Sprintf("s%d.example", i), names[i])
	}
}

func TestRefusalsAreCached(t *testing.T) {
	d := &fakeDaemon{}
	c := newFake(t, d, false, fast)
	ctx := context.Background()
	err := c.ModifySelectOpts(ctx, IDAddr(1), SelectPrefer, 0)
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorIs(t, err, ErrInvalid)
	require.Contains(t, err.Error(), "502 Invalid command")
	ok, err := c.SupportsSelectOpts(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.Len(t, d.requests(cmdModifySelectOpts), 1, "the 502 is remembered")
}

func TestUDPRefusalLeavesPartsOut(t *testing.T) {
	d := &fakeDaemon{sources: []fakeSource{{addr: mustIP("192.0.2.1"), name: "192.0.2.1"}}}
	d.hook = func(req []byte, _ int, answer func() []byte) [][]byte {
		switch binary.BigEndian.Uint16(req[4:]) {
		case cmdNTPData, cmdSelectData, cmdSourceStats:
			return [][]byte{reply(req, rpyNull, 2, nil)} // 501, as over UDP
		}
		return [][]byte{answer()}
	}
	c := newFake(t, d, true, fast)
	srcs, err := c.Sources(context.Background())
	require.NoError(t, err)
	require.Len(t, srcs, 1)
	require.Equal(t, Has{Name: true}, srcs[0].Has)
	_, err = c.Sources(context.Background())
	require.NoError(t, err)
	require.Len(t, d.requests(cmdSelectData), 1, "refused once, not asked again")
}

func TestSourceListChangingIsReadAgain(t *testing.T) {
	d := &fakeDaemon{}
	for i := range 3 {
		d.sources = append(d.sources, fakeSource{addr: IDAddr(uint32(i + 1)), name: "x.example"})
	}
	d.hook = func(req []byte, n int, answer func() []byte) [][]byte {
		if binary.BigEndian.Uint16(req[4:]) == cmdNSources && n == 0 {
			r := answer()
			d.mu.Lock()
			d.sources = d.sources[:2] // a source goes away after the count
			d.mu.Unlock()
			return [][]byte{r}
		}
		return [][]byte{answer()}
	}
	c := newFake(t, d, false, fast)
	srcs, err := c.Sources(context.Background())
	require.NoError(t, err)
	require.Len(t, srcs, 2)
	require.Len(t, d.requests(cmdNSources), 2)
}

func mustIP(s string) (a Addr) {
	a, err := ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}
