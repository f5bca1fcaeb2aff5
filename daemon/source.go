package daemon

import (
	"net/netip"

	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Source is one source the daemon has.
type Source struct {
	// Address is invalid for a reference clock or a name not resolved yet.
	Address netip.Addr `json:"address"`
	Port    int        `json:"port,omitempty"`
	Name    string     `json:"name"` // as configured; a refclock's refid
	// ID is the daemon's handle for it (chronyd: the IP or ID#n).
	ID       string `json:"id"`
	Refclock bool   `json:"refclock,omitempty"`
	// Reach is the daemon's reachability register (chronyd: the last 8
	// polls, bit 0 the latest); meaningful only when HasReach.
	Reach    uint8 `json:"reach,omitempty"`
	HasReach bool  `json:"has_reach,omitempty"`
	// Poll is the daemon's polling interval of the source, log2 seconds
	// (with HasReach): the register covers the last 8 such intervals.
	Poll int `json:"poll,omitempty"`
	// Pool is the name of the daemon's `pool` directive this source is a
	// member of ("" for a plain server). The daemon replaces a pool's
	// members itself, so the agent never removes them.
	Pool string `json:"pool,omitempty"`
	// NTS says the source is configured with Network Time Security
	// (chronyd: `nts` on its server line in chrony.conf or a sourcedir):
	// re-adding it (a rollback) keeps `nts`.
	NTS bool `json:"nts,omitempty"`
	// NTSOptions are the NTS options of its configured line besides nts
	// (`ntsport N`, `certset N`), kept wherever it is re-added or written.
	NTSOptions string `json:"nts_options,omitempty"`
	// Measurement is the daemon's own view of the source when it has
	// enough samples to judge it (chronyd); nil means "probe it".
	Measurement *scoring.Measurement `json:"measurement,omitempty"`
}

// Server is one NTP server of a plan.
type Server struct {
	Address netip.Addr `json:"address"`
	Port    int        `json:"port"`
	Name    string     `json:"server"` // the name it was found under
	// NTS says to add and persist it with Network Time Security (chronyd
	// and NTPsec: the `nts` option).
	NTS bool `json:"nts,omitempty"`
	// NTSOptions are the source's NTS options besides nts (Source.NTSOptions).
	NTSOptions string `json:"nts_options,omitempty"`
}

// Reachable says the daemon got a reply in any of its last polls of the
// source; false when the daemon does not say (file backends).
func (s Source) Reachable() bool { return s.HasReach && s.Reach != 0 }

// Fresh says the daemon's latest poll of the source was answered.
func (s Source) Fresh() bool { return s.HasReach && s.Reach&1 != 0 }
