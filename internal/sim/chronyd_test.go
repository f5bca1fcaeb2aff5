package sim

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

func server(i int) *Server {
	return &Server{Name: "s", Addr: netip.AddrFrom4([4]byte{10, 9, byte(i), 1}), Delay: 0.005, Jitter: 0.0002,
		RootDelay: 0.002, RootDisp: 0.0005, Stratum: 2, RefID: "192.0.2.1"}
}

// The fake behaves like chronyd where the soak relies on it: the reach
// register follows the polls, a falseticker is marked 'x', a pool refills
// from DNS after a delete, and a restart reads the sources file.
func TestChronydMeaning(t *testing.T) {
	ctx := context.Background()
	w := NewWorld(1, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	var addrs []netip.Addr
	for i := 1; i <= 4; i++ {
		s := server(i)
		w.Add(s)
		addrs = append(addrs, s.Addr)
	}
	w.Server(addrs[3]).Offset = 0.2
	p := &Pool{Name: "pool.test", PerAnswer: 2}
	for i := 10; i < 14; i++ {
		s := server(i)
		w.Add(s)
		p.Members = append(p.Members, s.Addr)
	}
	w.AddPool(p)
	c := &Chronyd{W: w, Servers: addrs, Pools: []Pooled{{Name: "pool.test", MaxSources: 2}}}
	c.Start()
	w.Clock.Advance(10 * time.Second) // the initial burst
	srcs, err := c.Sources(ctx)
	require.NoError(t, err)
	require.Len(t, srcs, 6)
	states := map[netip.Addr]chronyctl.State{}
	pooled := 0
	for _, s := range srcs {
		states[s.Address.IP] = s.State
		require.Equal(t, uint8(0b1111), s.Reach, "%s: four burst polls answered", s.Address)
		if s.Name == "pool.test" {
			pooled++
		}
	}
	require.Equal(t, 2, pooled)
	require.Equal(t, chronyctl.StateFalseticker, states[addrs[3]])

	// The network goes down for two polls: the register shifts in misses.
	w.NetDown = true
	w.Clock.Advance(2 * pollInterval)
	srcs, _ = c.Sources(ctx)
	require.Equal(t, uint8(0b111100), srcs[0].Reach)
	w.NetDown = false

	// Deleting a pool member: chronyd takes another from DNS.
	var member chronyctl.Addr
	for _, s := range srcs {
		if s.Name == "pool.test" {
			member = s.Address
		}
	}
	require.NoError(t, c.DeleteSource(ctx, member))
	srcs, _ = c.Sources(ctx)
	pooled = 0
	for _, s := range srcs {
		if s.Name == "pool.test" {
			pooled++
		}
	}
	require.Equal(t, 2, pooled, "refilled (DNS may give the same address again)")
	require.ErrorIs(t, c.DeleteSource(ctx, chronyctl.AddrFromIP(netip.MustParseAddr("192.0.2.99"))), chronyctl.ErrNoSuchSource)

	// Down, then restarted from the configuration alone.
	c.Stop()
	_, err = c.Sources(ctx)
	require.ErrorIs(t, err, ErrDown)
	c.Start()
	srcs, err = c.Sources(ctx)
	require.NoError(t, err)
	require.Len(t, srcs, 6)
}
