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
func measurement(s *chronyctl.Source, correction float64) scoring.Measurement {
	sent, ok := scoring.ReachRegister(s.Reach, int(min(s.NTP.TotalTx, 8)))
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
