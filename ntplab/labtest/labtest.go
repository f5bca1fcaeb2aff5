// Package labtest starts ntplab scenarios for tests on random loopback
// addresses, so test packages running in parallel never collide.
package labtest

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
)

// attempts bounds the retries when a randomly chosen address and port is
// already taken.
const attempts = 8

// Start runs sc on a random base address 127.a.b.1 (a in 1..254) with one
// random port in 20000..59999 shared by all servers, retrying on
// EADDRINUSE, and stops it when the test ends. It logs the seed so a
// failure can be replayed with Options.Seed.
func Start(t testing.TB, sc *ntplab.Scenario) *ntplab.Lab {
	t.Helper()
	return StartWith(t, sc, ntplab.Options{})
}

// StartWith is Start with options (Spread, Seed); Base and Port are chosen
// at random as for Start.
func StartWith(t testing.TB, sc *ntplab.Scenario, opt ntplab.Options) *ntplab.Lab {
	t.Helper()
	var lastErr error
	for range attempts {
		base := netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), 1})
		port := uint16(20000 + rand.IntN(40000))
		opt.Base, opt.Port = base, port
		lab, err := ntplab.Start(sc, opt)
		if errors.Is(err, syscall.EADDRINUSE) {
			lastErr = err
			continue
		}
		if err != nil {
			t.Fatalf("starting lab: %v", err)
		}
		t.Cleanup(func() { _ = lab.Close() })
		t.Logf("lab %q: %d servers from %s port %d, seed %d", sc.Name, len(lab.Servers()), base, port, lab.Seed())
		return lab
	}
	t.Fatalf("starting lab: no free address after %d attempts: %v", attempts, lastErr)
	return nil
}

// Scenario builds a validated scenario from profiles, failing the test on
// an invalid one.
func Scenario(t testing.TB, name string, profiles ...ntplab.Profile) *ntplab.Scenario {
	t.Helper()
	sc := &ntplab.Scenario{Name: name, Servers: profiles}
	if err := sc.Validate(); err != nil {
		t.Fatalf("scenario %q: %v", name, err)
	}
	return sc
}
