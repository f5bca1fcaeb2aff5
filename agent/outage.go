package agent

import (
	"fmt"
	"net/netip"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// outage says why nothing answered in this run, or "" when something did.
// A run is an outage, the machine's problem and not the servers', when
//
//   - every host name among the candidates failed to resolve (the
//     resolver is down: the daemon keeps its addresses), or
//   - every address probed failed for want of a route (ENETUNREACH,
//     EHOSTUNREACH; for an NTS pre-flight, its key exchange's connection),
//     or
//   - no probe got a reply and no source of the daemon answered its
//     latest poll (chronyd's reach register; file backends do not say, so
//     for them the probes decide alone).
//
// A pre-flighted address (nts) counts as probed when its key exchange was
// tried, and as answered when its connection was accepted (or an
// authenticated reply came). A run with nothing to measure at all is not
// an outage.
func outage(probes []prober.Result, nts map[netip.Addr]NTSCheck, sources []daemon.Source, backend string) string {
	names, unresolved := 0, 0
	probed, answered, noRoute := 0, 0, 0
	for i := range probes {
		r := &probes[i]
		if _, err := netip.ParseAddr(r.Server); err != nil {
			names++
			if r.Unresolved {
				unresolved++
			}
		}
		if c, ok := nts[r.Address]; ok && r.Address.IsValid() && c.KeyExchanges > 0 {
			probed++
			if c.Connected || r.SamplesOK > 0 || r.KoD != "" {
				answered++
			} else if c.NoRoute || r.NoRoute {
				noRoute++
			}
			continue
		}
		if r.SamplesSent == 0 {
			continue
		}
		probed++
		if r.SamplesOK > 0 || r.KoD != "" {
			answered++
		}
		if r.NoRoute {
			noRoute++
		}
	}
	polled, fresh := 0, 0
	for _, d := range sources {
		if d.Refclock || !d.HasReach {
			continue
		}
		polled++
		if d.Fresh() {
			fresh++
		}
	}
	switch {
	case names > 0 && unresolved == names:
		return fmt.Sprintf("none of the %d host names resolved (DNS is down here)", names)
	case probed > 0 && noRoute == probed:
		return fmt.Sprintf("no route to any of the %d servers probed (the network is unreachable from here)", probed)
	case answered > 0 || fresh > 0 || probed+polled == 0:
		return ""
	case polled == 0:
		return fmt.Sprintf("none of the %d servers probed answered", probed)
	}
	return fmt.Sprintf("none of the %d servers probed answered, and none of %s's %d sources answered its latest poll",
		probed, backend, polled)
}
