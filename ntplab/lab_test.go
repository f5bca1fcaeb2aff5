package ntplab

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartSpread(t *testing.T) {
	sc := &Scenario{Name: "spread", Servers: []Profile{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
	base := netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(200)), byte(rand.IntN(200)), 7})
	lab, err := Start(sc, Options{Base: base, Spread: true})
	require.NoError(t, err)
	defer lab.Close()
	b := base.As4()
	for i, name := range []string{"a", "b", "c"} {
		want := netip.AddrFrom4([4]byte{127, b[1], b[2] + byte(i), 7})
		require.Equal(t, want, lab.Server(name).Addr().Addr(), name)
	}
	require.False(t, nextAddr(netip.MustParseAddr("127.255.255.7"), true).IsValid(), "stays inside 127/8")
}
