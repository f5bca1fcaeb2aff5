package scoring

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
)

// Origin says where a measurement came from.
type Origin string

// The two origins. Both map onto the same Measurement fields; the origin is
// kept so the table, the log and history can say which it was.
const (
	// OriginProbe is a direct NTP probe by the prober: Offset from the
	// lowest-delay sample, Delay the minimum, Jitter the RMS of offset
	// differences, SamplesSent/SamplesOK the packets sent and answered.
	OriginProbe Origin = "probe"
	// OriginChronyd is chronyd's own view of a source it already has:
	// Jitter is sourcestats' std dev, Offset its estimated offset, Delay and
	// the root values come from ntpdata, and SamplesSent/SamplesOK from the
	// reachability register (see ReachRegister).
	OriginChronyd Origin = "chronyd"
)

// SourceState is chronyd's selection state of a source (candm.h
// RPY_SD_ST_*, sourcedata offset 52). Only StateFalseticker changes a
// verdict; the others are carried through for the table.
type SourceState string

// chronyd's source states, in candm.h order (codes 0..5).
const (
	StateSelected      SourceState = "selected"      // '*'
	StateNonselectable SourceState = "nonselectable" // '?'
	StateFalseticker   SourceState = "falseticker"   // 'x'
	StateJittery       SourceState = "jittery"       // '~'
	StateUnselected    SourceState = "unselected"    // '+' (combined)
	StateSelectable    SourceState = "selectable"    // '-'
)

// Measurement is what scoring knows about one address. All times are
// float64 seconds (the same unit as the `*_s` keys of `probe --json`).
type Measurement struct {
	Origin   Origin     `json:"origin"`
	Address  netip.Addr `json:"address"`
	Port     int        `json:"port"`               // NTP port; carried through, not scored
	Name     string     `json:"server"`             // the name as given (or the address)
	Operator string     `json:"operator,omitempty"` // catalog operator; empty: derived from Name
	// Pool marks a name whose addresses are run by independent operators
	// (an NTP pool zone): its operator is keyed by the address's prefix.
	// Names under pool.ntp.org are treated so even when Pool is false.
	Pool     bool `json:"pool,omitempty"`
	Smearing bool `json:"smearing"` // the server smears leap seconds
	// Auth is "nts" for a server used with Network Time Security (listed
	// as "NAME nts", or configured with `nts` at the daemon); empty for
	// plain NTP. Carried through, not scored.
	Auth string `json:"auth,omitempty"`
	// AuthError is why an NTS server's pre-flight failed ("nts: NAK",
	// "nts: certificate signed by unknown authority", …): a hard failure,
	// the server is never added. Empty when it passed or was not checked.
	AuthError string `json:"auth_error,omitempty"`

	// Offset is the server's clock minus this machine's system clock (RFC
	// 5905 θ), whichever way it was measured: chronyd's statistics are
	// converted to it (package chronylive).
	Offset         float64 `json:"offset_s"`
	Delay          float64 `json:"delay_s"`           // round-trip delay of this path
	Jitter         float64 `json:"jitter_s"`          // RMS of offset differences, or chronyd's std dev
	RootDelay      float64 `json:"root_delay_s"`      // from the server's packets
	RootDispersion float64 `json:"root_dispersion_s"` // from the server's packets

	Stratum  int    `json:"stratum"`
	Leap     int    `json:"leap"`      // 0..3; 3 is "alarm, unsynchronised"
	RefID    string `json:"refid"`     // as shown: "GPS", "192.0.2.1", a hash
	RefIDRaw uint32 `json:"refid_raw"` // the 32-bit reference ID from the packet

	SamplesSent int    `json:"samples_sent"`
	SamplesOK   int    `json:"samples_ok"`
	KoD         string `json:"kod"` // kiss code ("RATE", "DENY", "RSTR", ...); empty when none
	// Unsynchronized is set when the source of the measurement already knows
	// the server is unsynchronised (beevik/ntp's Validate, chronyd's 's').
	Unsynchronized bool        `json:"unsynchronized"`
	ChronydState   SourceState `json:"chronyd_state,omitempty"`

	// DaemonPool names the daemon's `pool` directive the address is a
	// member of: the daemon replaces the pool's members itself, so the
	// agent neither selects nor removes them (they are measured, and take
	// part in the intersection).
	DaemonPool string `json:"daemon_pool,omitempty"`

	Pinned  bool `json:"pinned"`  // `keep`: always selected, never removed
	Current bool `json:"current"` // a member of the daemon's current set
}

// Reach is the fraction of samples answered, 0..1: SamplesOK/SamplesSent,
// or 0 when nothing was sent.
func (m *Measurement) Reach() float64 {
	if m.SamplesSent <= 0 {
		return 0
	}
	return float64(m.SamplesOK) / float64(m.SamplesSent)
}

// RootDistance is the server's own distance to its reference, RFC 5905
// section 11.2.1 without this path's terms: RootDelay/2 + RootDispersion.
// It is what `max_root_distance` limits.
func (m *Measurement) RootDistance() float64 {
	return m.RootDelay/2 + m.RootDispersion
}

// ReachRegister maps chronyd's 8-bit reachability register (sourcedata
// offset 58) onto SamplesSent and SamplesOK. chronyd shifts the register left
// on every poll and sets bit 0 when the poll was answered, so the low bits
// are the latest polls. polls is how many polls the caller knows chronyd has
// made of this source (for a source added less than 8 polls ago); 0 or
// anything from 8 up means "at least 8", and all 8 bits count. A young
// source is thus judged only on the polls it has had: after 3 answered polls
// its reach is 3/3, not 3/8.
func ReachRegister(reg uint8, polls int) (sent, ok int) {
	if polls <= 0 || polls > 8 {
		polls = 8
	}
	mask := uint8(1<<polls - 1) // computed as int: polls == 8 gives 0xFF
	return polls, bits.OnesCount8(reg & mask)
}

// ReachRegisterExcept is ReachRegister without the polls in common: bits
// set in common are polls that every source of the daemon missed together
// (an outage of this machine's network), which say nothing about any one
// source and are left out of both counts.
func ReachRegisterExcept(reg uint8, polls int, common uint8) (sent, ok int) {
	if polls <= 0 || polls > 8 {
		polls = 8
	}
	mask := uint8(1<<polls-1) &^ common
	return bits.OnesCount8(mask), bits.OnesCount8(reg & mask)
}

// invalid returns why m cannot be used, or "" when its numbers are sane.
func (m *Measurement) invalid() string {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	for _, f := range []struct {
		key string
		v   float64
		neg bool // negative allowed
	}{
		{"offset", m.Offset, true},
		{"delay", m.Delay, false},
		{"jitter", m.Jitter, false},
		{"root delay", m.RootDelay, false},
		{"root dispersion", m.RootDispersion, false},
	} {
		if !finite(f.v) || (!f.neg && f.v < 0) {
			return fmt.Sprintf("invalid measurement: %s %v", f.key, f.v)
		}
	}
	switch {
	case m.SamplesSent < 0 || m.SamplesOK < 0 || m.SamplesOK > m.SamplesSent:
		return fmt.Sprintf("invalid measurement: %d of %d samples answered", m.SamplesOK, m.SamplesSent)
	case m.Leap < 0 || m.Leap > 3:
		return fmt.Sprintf("invalid measurement: leap %d", m.Leap)
	case m.Stratum < 0:
		return fmt.Sprintf("invalid measurement: stratum %d", m.Stratum)
	}
	return ""
}
