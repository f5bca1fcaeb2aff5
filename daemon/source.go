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
	// Measurement is the daemon's own view of the source when it has
	// enough samples to judge it (chronyd); nil means "probe it".
	Measurement *scoring.Measurement `json:"measurement,omitempty"`
}

// Server is one NTP server of a plan.
type Server struct {
	Address netip.Addr `json:"address"`
	Port    int        `json:"port"`
	Name    string     `json:"server"` // the name it was found under
}
