package prober_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/beevik/ntp"
	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// fakeServers is a meaning-level fake: per address, which requests are
// answered and with what delay, on a fake clock. It records send times.
type fakeServers struct {
	clock  *clockwork.FakeClock
	delay  map[netip.Addr]time.Duration
	lost   map[netip.Addr]map[int]bool // request numbers never answered
	mu     sync.Mutex
	sent   map[netip.Addr][]time.Time
	silent map[netip.Addr]bool
}

func (f *fakeServers) query(ctx context.Context, addr netip.AddrPort, gate prober.Gate) (*ntp.Response, error) {
	if err := gate.Wait(); err != nil {
		return nil, err
	}
	a := addr.Addr()
	f.mu.Lock()
	t1 := f.clock.Now()
	n := len(f.sent[a])
	f.sent[a] = append(f.sent[a], t1)
	f.mu.Unlock()
	gate.Sent()
	if f.silent[a] || f.lost[a][n] {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	d := f.delay[a]
	return &ntp.Response{Version: 4, Stratum: 2, RTT: d,
		Timestamps: ntp.ProtocolTimestamps{ClientXmit: t1, ServerRecv: t1, ServerXmit: t1, ClientRecv: t1.Add(d)}}, nil
}

// run probes targets while moving the fake clock on in 5 ms steps.
func (f *fakeServers) run(t *testing.T, cfg prober.Config, targets []prober.Target) []prober.Result {
	t.Helper()
	p := prober.New(cfg, zerolog.Nop())
	p.Clock, p.Query = f.clock, f.query
	done := make(chan []prober.Result)
	go func() {
		res, err := p.Probe(context.Background(), targets, prober.RunOptions{})
		require.NoError(t, err)
		done <- res
	}()
	for range 100000 { // bounded: 500 s of fake time
		select {
		case res := <-done:
			return res
		case <-time.After(20 * time.Microsecond):
			f.clock.Advance(5 * time.Millisecond)
		}
	}
	t.Fatal("probe did not finish in 500 s of fake time")
	return nil
}

func TestSchedule(t *testing.T) {
	pub := netip.MustParseAddr("192.0.2.10") // never dialled: the query is fake
	lossy := netip.MustParseAddr("127.0.0.2")
	dead := netip.MustParseAddr("127.0.0.3")
	far := netip.MustParseAddr("127.0.0.4")
	f := &fakeServers{
		clock:  clockwork.NewFakeClock(),
		delay:  map[netip.Addr]time.Duration{pub: 20 * time.Millisecond, lossy: 10 * time.Millisecond, far: 300 * time.Millisecond},
		lost:   map[netip.Addr]map[int]bool{lossy: {1: true, 3: true}, far: {3: true}},
		silent: map[netip.Addr]bool{dead: true},
		sent:   map[netip.Addr][]time.Time{},
	}
	cfg := prober.DefaultConfig()
	cfg.Spacing = 100 * time.Millisecond
	start := f.clock.Now()
	res := f.run(t, cfg, []prober.Target{{Name: pub.String()}, {Name: lossy.String()}, {Name: dead.String()}, {Name: far.String()}})
	step := cfg.Spacing + time.Millisecond // spacing + guard

	t.Run("public address gets at least 2 s spacing", func(t *testing.T) {
		s := f.sent[pub]
		require.Len(t, s, 4)
		for i := 1; i < len(s); i++ {
			require.GreaterOrEqual(t, s[i].Sub(s[i-1]), prober.MinPublicSpacing)
		}
	})
	t.Run("a lost request does not delay the next", func(t *testing.T) {
		s := f.sent[lossy]
		require.Len(t, s, 4)
		// The fake clock moves on in 5 ms steps whether or not the prober's
		// goroutines have caught up, so under load a send is recorded a few
		// steps late; a lost request that delayed the next would add its
		// 5 s timeout or the 500 ms last wait, far beyond this bound.
		for i := 1; i < len(s); i++ {
			gap := s[i].Sub(s[i-1])
			require.GreaterOrEqual(t, gap, cfg.Spacing, "gap %d", i)
			require.Less(t, gap, step+50*time.Millisecond, "gap %d", i)
		}
		require.Equal(t, 2, res[1].SamplesOK)
		// Lost last request: waits 4 × 10 ms, floored at 500 ms.
		require.Equal(t, "no reply within 500ms", res[1].Samples[3].Err)
	})
	t.Run("a silent address costs the grid plus the floor, not the timeout", func(t *testing.T) {
		require.Len(t, f.sent[dead], 4)
		require.Equal(t, "no reply within 500ms", res[2].Samples[3].Err)
		for _, s := range res[2].Samples[:3] {
			require.Equal(t, "no reply before this address's last request was done", s.Err)
		}
	})
	t.Run("the last wait scales with the address's delay", func(t *testing.T) {
		require.Equal(t, 3, res[3].SamplesOK)
		require.Equal(t, "no reply within 1.2s", res[3].Samples[3].Err) // 4 × 300 ms
	})
	t.Run("the run ends when the slowest address does", func(t *testing.T) {
		var end time.Time
		for _, s := range f.sent[pub] {
			end = s
		}
		require.Less(t, end.Sub(start), 3*(prober.MinPublicSpacing+20*time.Millisecond)+100*time.Millisecond)
	})
}
