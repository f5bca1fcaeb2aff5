package prober_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// forger is a UDP responder on 127.0.0.1 that plays an off-path attacker
// and, optionally, the genuine server behind it: for each request it first
// sends `forged` replies whose origin timestamp does not match the request
// (they claim the server's clock is 1000 s ahead), then, if genuine, the
// real reply `after` later.
type forger struct {
	conn    *net.UDPConn
	forged  int
	genuine bool
	after   time.Duration

	mu       sync.Mutex
	requests int
	wg       sync.WaitGroup
}

func startForger(t *testing.T, forged int, genuine bool, after time.Duration) *forger {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	f := &forger{conn: c, forged: forged, genuine: genuine, after: after}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		_ = c.Close()
		f.wg.Wait()
	})
	return f
}

func (f *forger) port() int { return f.conn.LocalAddr().(*net.UDPAddr).Port }

func (f *forger) serve() {
	defer f.wg.Done()
	buf := make([]byte, 1024)
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n < 48 {
			continue
		}
		req := append([]byte(nil), buf[:48]...)
		f.mu.Lock()
		f.requests++
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for range f.forged {
				b := ntpReply(req, 1000*time.Second)
				b[31] ^= 0xff // the attacker cannot see the request: wrong origin
				_, _ = f.conn.WriteToUDPAddrPort(b, from)
			}
			if !f.genuine {
				return
			}
			time.Sleep(f.after)
			_, _ = f.conn.WriteToUDPAddrPort(ntpReply(req, 0), from)
		}()
	}
}

// ntpReply answers req like a healthy stratum-2 server whose clock is off
// by offset.
func ntpReply(req []byte, offset time.Duration) []byte {
	ts := func(t time.Time) uint64 {
		return uint64(t.Unix()+2208988800)<<32 | (uint64(t.Nanosecond())<<32)/1e9
	}
	now := time.Now().Add(offset)
	b := make([]byte, 48)
	b[0] = 0<<6 | 4<<3 | 4
	b[1], b[2], b[3] = 2, req[2], 0xec
	binary.BigEndian.PutUint32(b[12:], 0xc0000201)
	binary.BigEndian.PutUint64(b[16:], ts(now.Add(-time.Minute)))
	copy(b[24:32], req[40:48])
	binary.BigEndian.PutUint64(b[32:], ts(now))
	binary.BigEndian.PutUint64(b[40:], ts(now))
	return b
}

func probeForger(t *testing.T, f *forger, cfg prober.Config) prober.Result {
	t.Helper()
	p := prober.New(cfg, zerolog.Nop())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Probe(ctx, []prober.Target{{Name: "127.0.0.1", Port: f.port()}}, prober.RunOptions{})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.Equal(t, netip.MustParseAddr("127.0.0.1"), res[0].Address)
	return res[0]
}

// One forged reply arrives 20 ms before each genuine one: the forgeries
// are discarded and counted, the genuine replies are the samples.
func TestForgedReplyBeforeGenuine(t *testing.T) {
	f := startForger(t, 1, true, 20*time.Millisecond)
	cfg := prober.DefaultConfig()
	cfg.Samples, cfg.Spacing, cfg.Timeout = 4, 50*time.Millisecond, time.Second
	r := probeForger(t, f, cfg)

	require.Equal(t, 4, r.SamplesSent, "%+v", r.Samples)
	require.Equal(t, 4, r.SamplesOK, "%+v", r.Samples)
	require.Empty(t, r.Err)
	require.Equal(t, 4, r.Forged)
	for _, s := range r.Samples {
		require.True(t, s.OK, "%+v", s)
		require.Equal(t, 1, s.Forged, "sample %d", s.Seq)
		require.Empty(t, s.Err)
		// The genuine reply's offset, not the forger's +1000 s.
		require.Less(t, s.Offset.Abs(), 50*time.Millisecond, "sample %d", s.Seq)
		require.GreaterOrEqual(t, s.Delay, 15*time.Millisecond, "sample %d: the genuine reply came 20 ms later", s.Seq)
	}
	require.Less(t, r.Offset.Abs(), 50*time.Millisecond)

	var j map[string]any
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &j))
	require.EqualValues(t, 4, j["forged"])
	require.EqualValues(t, 1, j["samples"].([]any)[0].(map[string]any)["forged"])
}

// Only forgeries arrive: every sample fails, its reason and the result's
// name the forgeries, and nothing spoofed is accepted.
func TestOnlyForgedReplies(t *testing.T) {
	f := startForger(t, 2, false, 0)
	cfg := prober.DefaultConfig()
	cfg.Samples, cfg.Spacing, cfg.Timeout, cfg.FinalWaitMin = 4, 50*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond
	r := probeForger(t, f, cfg)

	require.Equal(t, 4, r.SamplesSent, "%+v", r.Samples)
	require.Zero(t, r.SamplesOK, "a forged reply was accepted: %+v", r.Samples)
	require.Zero(t, r.Offset)
	require.Equal(t, 8, r.Forged)
	require.Contains(t, r.Err, "8 forged replies")
	require.Contains(t, r.Err, "wrong origin timestamp")
	for _, s := range r.Samples {
		require.False(t, s.OK, "%+v", s)
		require.Equal(t, 2, s.Forged, "sample %d", s.Seq)
		require.Contains(t, s.Err, "no reply", "sample %d", s.Seq)
		require.Contains(t, s.Err, "2 forged replies", "sample %d", s.Seq)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Equal(t, 4, f.requests, "one request per sample: a forgery does not make the prober ask again")
}

// A flood of forgeries ends the wait after a bound (a connection is not
// read forever), still accepting nothing spoofed.
func TestForgedFlood(t *testing.T) {
	f := startForger(t, 150, true, 20*time.Millisecond)
	cfg := prober.DefaultConfig()
	cfg.Samples, cfg.Spacing, cfg.Timeout = 2, 50*time.Millisecond, time.Second
	r := probeForger(t, f, cfg)

	require.Equal(t, 2, r.SamplesSent, "%+v", r.Samples)
	require.Zero(t, r.SamplesOK, "%+v", r.Samples)
	for _, s := range r.Samples {
		require.Equal(t, 100, s.Forged, "sample %d", s.Seq)
		require.Contains(t, s.Err, "gave up on a flood", "sample %d", s.Seq)
		require.Contains(t, s.Err, "100 forged replies discarded", "sample %d", s.Seq)
	}
	require.Equal(t, 200, r.Forged)
	require.Contains(t, r.Err, "200 forged replies discarded")
}
