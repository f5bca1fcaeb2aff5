package prober

import (
	"errors"
	"fmt"
	"time"
)

// Defaults and limits. The numbers follow the politeness rules in
// shared/reference/ntp-practice.md: ntpd servers expect at least 2 s between
// packets and bursts of at most 8, NIST asks for 4 s (set per target), and
// the NTP pool monitor itself uses a few samples 2 s apart.
const (
	DefaultSamples = 4               // the seed asks for 3; one more makes a jitter estimate worth having
	MaxSamples     = 8               // ntpd's and chrony's burst limit: never more per address per run
	DefaultSpacing = 2 * time.Second // ntpd's minimum interval between packets from one client
	// MinPublicSpacing is the least spacing used for any address outside the
	// loopback range, whatever Config.Spacing says (shorter spacings are
	// for tests against ntplab on loopback).
	MinPublicSpacing = 2 * time.Second
	DefaultTimeout   = 5 * time.Second // the seed's timeout for one reply
	// DefaultMaxInFlight bounds the queries (UDP sockets) open at once; well
	// under the usual 1024 open-file limit.
	DefaultMaxInFlight = 128
	// DefaultFinalWaitMin is the least time the last request of an address
	// waits for its reply. It covers a satellite path (about 600 ms RTT)
	// only when earlier replies showed such a delay; an address that has
	// not answered at all by then has already had its first request time
	// out.
	DefaultFinalWaitMin = 500 * time.Millisecond
	// DefaultFinalWaitFactor multiplies the largest delay seen from an
	// address to give its last request's wait.
	DefaultFinalWaitFactor = 4
	DefaultPort            = 123
)

// Config says how to measure. The zero value is not valid: start from
// DefaultConfig.
type Config struct {
	Samples         int           // requests per address, 1..MaxSamples
	Spacing         time.Duration // least time between two requests to one address
	Timeout         time.Duration // longest wait for one reply (not the last)
	MaxInFlight     int           // queries (sockets) open at once, 1..4096
	FinalWaitMin    time.Duration // least wait for the last request's reply
	FinalWaitFactor int           // last request waits this × largest delay seen, 1..100
	Port            int           // port for targets without one
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		Samples:         DefaultSamples,
		Spacing:         DefaultSpacing,
		Timeout:         DefaultTimeout,
		MaxInFlight:     DefaultMaxInFlight,
		FinalWaitMin:    DefaultFinalWaitMin,
		FinalWaitFactor: DefaultFinalWaitFactor,
		Port:            DefaultPort,
	}
}

// ErrInvalidConfig is wrapped by every Validate error.
var ErrInvalidConfig = errors.New("invalid prober configuration")

// Validate checks every field and names the one out of range.
func (c Config) Validate() error {
	bad := func(key string, v any, allowed string) error {
		return fmt.Errorf("%w: %s = %v, want %s", ErrInvalidConfig, key, v, allowed)
	}
	switch {
	case c.Samples < 1 || c.Samples > MaxSamples:
		return bad("samples", c.Samples, fmt.Sprintf("1..%d", MaxSamples))
	case c.Spacing < time.Millisecond || c.Spacing > time.Minute:
		return bad("spacing", c.Spacing, "1ms..1m (at least 2s is used for non-loopback servers)")
	case c.Timeout < 10*time.Millisecond || c.Timeout > time.Minute:
		return bad("timeout", c.Timeout, "10ms..1m")
	case c.MaxInFlight < 1 || c.MaxInFlight > 4096:
		return bad("max_in_flight", c.MaxInFlight, "1..4096")
	case c.FinalWaitMin <= 0 || c.FinalWaitMin > c.Timeout:
		return bad("final_wait_min", c.FinalWaitMin, "more than 0 and at most the timeout")
	case c.FinalWaitFactor < 1 || c.FinalWaitFactor > 100:
		return bad("final_wait_factor", c.FinalWaitFactor, "1..100")
	case c.Port < 1 || c.Port > 65535:
		return bad("port", c.Port, "1..65535")
	}
	return nil
}
