package chronylive

import (
	"net/netip"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// states maps chronyd's selection states onto scoring's.
var states = map[chronyctl.State]scoring.SourceState{
	chronyctl.StateSelected:    scoring.StateSelected,
	chronyctl.StateUnusable:    scoring.StateNonselectable,
	chronyctl.StateFalseticker: scoring.StateFalseticker,
	chronyctl.StateJittery:     scoring.StateJittery,
	chronyctl.StateCombined:    scoring.StateUnselected,
	chronyctl.StateNotCombined: scoring.StateSelectable,
}

// measurement is chronyd's view of a source as scoring's input: jitter is
// sourcestats' standard deviation, the offset its estimate, delay and root
// values the last exchange (ntpdata), and reachability the reach register
// over the polls chronyd has made.
//
// The offset is converted to the agent's one convention (RFC 5905 θ:
// server minus this machine's system clock, what the prober measures).
// chronyd's sourcestats keep the opposite sense (its local clock minus the
// server, sourcestats.c flips the sign of each sample) and measure against
// chronyd's own estimate of the time, which differs from the system clock
// by tracking's current correction (positive: the system clock is slow).
// So θ = correction − est_offset.
//
// common are the reach register's polls that every source missed together
// (see commonMisses): left out of the source's reachability.
func measurement(s *chronyctl.Source, correction float64, common uint8) scoring.Measurement {
	sent, ok := scoring.ReachRegisterExcept(s.Reach, int(min(s.NTP.TotalTx, 8)), common)
	name := s.Name
	if name == "" {
		name = s.Address.String()
	}
	return scoring.Measurement{
		Origin:         scoring.OriginChronyd,
		Address:        s.Address.IP,
		Port:           int(s.NTP.RemotePort),
		Name:           name,
		Offset:         correction - s.Stats.EstOffset,
		Delay:          s.NTP.Delay,
		Jitter:         s.Stats.StdDev,
		RootDelay:      s.NTP.RootDelay,
		RootDispersion: s.NTP.RootDispersion,
		Stratum:        int(s.NTP.Stratum),
		Leap:           int(s.NTP.Leap),
		RefIDRaw:       s.NTP.RefID,
		RefID:          refIDString(s.NTP.RefID, int(s.NTP.Stratum)),
		SamplesSent:    sent,
		SamplesOK:      ok,
		ChronydState:   states[s.State],
	}
}

// refIDString shows a reference ID as NTP tools do: ASCII for stratum 0
// and 1 ("GPS", "PPS"), else the upstream's IPv4 address (RFC 5905 section
// 7.3).
func refIDString(id uint32, stratum int) string {
	if stratum <= 1 {
		return chronyctl.RefIDText(id)
	}
	return netip.AddrFrom4([4]byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}).String()
}

// commonMisses returns the reach-register polls that every source with a
// full register (8 polls or more) missed: after an outage of this
// machine's network they would make every member look unreachable for
// eight polls, while a server probed directly afterwards answers 4 of 4.
// With fewer than three such sources nothing is common (one silent source
// must not excuse itself).
func commonMisses(srcs []chronyctl.Source) uint8 {
	var seen uint8
	n := 0
	for i := range srcs {
		s := &srcs[i]
		if s.Mode == chronyctl.ModeRefclock || s.NTP.TotalTx < 8 {
			continue
		}
		seen |= s.Reach
		n++
	}
	if n < 3 || seen == 0 {
		return 0
	}
	return ^seen
}
