package prober

import (
	"net/netip"
	"time"
)

// Target is one server to measure.
type Target struct {
	Name string // host name or IP literal, as the user gave it
	Port int    // 0: Config.Port
	// MinSpacing is the operator's minimum time between packets (e.g. 4 s
	// for NIST); the larger of it and Config.Spacing applies.
	MinSpacing time.Duration
}

// Sample is one request and what came back.
type Sample struct {
	Seq  int       // 0-based request number for this address
	Sent time.Time // when the request went out; zero if it was not sent
	// OK is true for a usable time reply (unsynchronised ones included:
	// they are flagged on the Result); false for no reply, garbage or KoD.
	OK             bool
	Offset         time.Duration // server clock minus local clock (RFC 5905 θ)
	Delay          time.Duration // round-trip delay (RFC 5905 δ)
	Stratum        uint8
	Leap           uint8 // leap indicator 0..3
	RefID          string
	RootDelay      time.Duration
	RootDispersion time.Duration
	Precision      time.Duration
	KoD            string // kiss code of a kiss-o'-death reply
	Err            string // why the sample is not OK
	// NoRoute: the request could not go out or came back unreachable
	// because this machine has no route (ENETUNREACH, EHOSTUNREACH).
	NoRoute bool
	// Forged counts the datagrams that arrived for this request with an
	// origin timestamp that is not the request's transmit timestamp (stale
	// or spoofed): they were discarded, and the wait for the genuine reply
	// went on until the sample's deadline.
	Forged int
}

// Result is the measurement of one address.
type Result struct {
	Server  string     // the target name it came from
	Aliases []string   // other target names that resolved to the same address
	Address netip.Addr // invalid if the name did not resolve
	Port    int

	// From the RFC 5905 clock filter: the lowest-delay usable sample.
	Offset         time.Duration
	Delay          time.Duration // the minimum delay
	Stratum        uint8
	Leap           uint8
	RefID          string
	RootDelay      time.Duration
	RootDispersion time.Duration
	Precision      time.Duration
	// RootDistance = (root delay + delay)/2 + root dispersion of that sample.
	RootDistance time.Duration

	MedianOffset time.Duration // median of the usable samples' offsets
	// Jitter is the RMS of the other usable samples' offset differences
	// from the lowest-delay one; meaningful only when SamplesOK >= 2.
	Jitter time.Duration

	SamplesSent int
	SamplesOK   int
	Reach       float64 // SamplesOK / SamplesSent, 0 when none was sent

	// Unsynchronized: a usable reply had leap 3, stratum 0 or stratum >= 16.
	Unsynchronized bool
	KoD            string // first kiss code received, "" if none
	RateLimited    bool   // KoD RATE: back off this server across runs
	Blacklist      bool   // KoD DENY or RSTR: stop using this server

	// NoRoute: every sample failed for want of a route from this
	// machine (the network is down here, not the server).
	NoRoute bool
	// Unresolved: the name gave no address (Err says why).
	Unresolved bool

	// Forged is the samples' Forged, summed: wrong-origin datagrams
	// discarded while waiting for this address's replies.
	Forged int

	Err     string // why the address could not be measured, if so
	Skipped string // why the address was deliberately not measured (Prober.Skip)
	Samples []Sample

	// forged counts discarded datagrams by sample number while the samples
	// run (sampleGate.forged); summarize moves them onto the samples.
	forged map[int]int
}

// Progress reports how far a run is. Probe calls Prober.Progress with it
// after every sample and every finished address, from one goroutine at a
// time; the callback must return quickly.
type Progress struct {
	Addresses     int // addresses to measure (known once names are resolved)
	AddressesDone int
	SamplesSent   int
	SamplesOK     int
	InFlight      int // queries open now
	PeakInFlight  int // most queries open at once so far
}
