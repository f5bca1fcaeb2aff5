package ntplab

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Truth is the ground truth a scenario states about a server: what a correct
// measurement and selection should conclude.
type Truth string

// Ground-truth labels.
const (
	TruthGood           Truth = "good"           // accurate, reachable, synchronised
	TruthJittery        Truth = "jittery"        // accurate on average, but noisy
	TruthLossy          Truth = "lossy"          // drops a share of requests
	TruthFalseticker    Truth = "falseticker"    // wrong time by Offset
	TruthUnsynchronized Truth = "unsynchronized" // leap 3 and/or stratum 0 or 16
	TruthKoD            Truth = "kod"            // sends kiss-o'-death replies
	TruthRateLimited    Truth = "ratelimited"    // rate-limits: drops or KoD RATE over its limit
	TruthSilent         Truth = "silent"         // never answers
)

var truths = map[Truth]bool{
	TruthGood: true, TruthJittery: true, TruthLossy: true, TruthFalseticker: true,
	TruthUnsynchronized: true, TruthKoD: true, TruthRateLimited: true, TruthSilent: true,
}

// Loss patterns.
const (
	LossEven   = "even"   // drops spread evenly (see the package doc); the default
	LossRandom = "random" // each request dropped independently
)

// Rate-limit actions.
const (
	ActionDrop = "drop" // over the limit: no reply (chrony's default)
	ActionKoD  = "kod"  // over the limit: a KoD RATE reply (ntpd's "limited kod")
)

// Defaults applied by [Profile.withDefaults].
const (
	DefaultStratum   = 2
	DefaultPrecision = -20              // log2 seconds, about 1 µs
	DefaultRefAge    = 16 * time.Second // reference time this long before now
)

// RateLimit is a token bucket per client address, like chrony's ratelimit
// directive: one token accrues per Interval up to Burst, each request takes
// one, and a request finding no token is over the limit.
type RateLimit struct {
	Interval time.Duration `toml:"interval"`
	Burst    int           `toml:"burst"`
	Action   string        `toml:"action"` // ActionDrop (default) or ActionKoD
}

// Profile describes one simulated server. Durations in scenario files are
// strings such as "5ms". See the package documentation for how Delay,
// Jitter, Asymmetry and Loss relate to what a client measures.
type Profile struct {
	Name  string `toml:"name"`
	Truth Truth  `toml:"truth"`
	// Count repeats the profile (names get a -N suffix); 0 means 1.
	Count int `toml:"count"`

	Stratum   int    `toml:"stratum"`   // 1..16; 0 means DefaultStratum
	RefID     string `toml:"refid"`     // stratum 1: up to 4 ASCII characters; else an IPv4 address
	Leap      int    `toml:"leap"`      // leap indicator 0..3
	Precision int    `toml:"precision"` // log2 seconds; 0 means DefaultPrecision
	// Unsynchronized answers like an unsynchronised chronyd: leap 3,
	// stratum 0, reference ID and reference time zero.
	Unsynchronized bool `toml:"unsynchronized"`

	Offset    time.Duration `toml:"offset"`    // server clock minus host clock
	Delay     time.Duration `toml:"delay"`     // mean one-way delay
	Jitter    time.Duration `toml:"jitter"`    // standard deviation of each one-way delay
	Asymmetry time.Duration `toml:"asymmetry"` // mean outbound minus mean return delay

	Loss        float64 `toml:"loss"`         // 0..1
	LossPattern string  `toml:"loss_pattern"` // LossEven (default) or LossRandom
	Silent      bool    `toml:"silent"`       // never answers

	KoD       string     `toml:"kod"`       // if set, every reply is a KoD with this code
	RateLimit *RateLimit `toml:"ratelimit"` // nil: no limit

	RefAge         time.Duration `toml:"ref_age"` // 0 means DefaultRefAge
	RootDelay      time.Duration `toml:"root_delay"`
	RootDispersion time.Duration `toml:"root_dispersion"`
}

// ErrInvalidProfile is wrapped by every profile validation error.
var ErrInvalidProfile = errors.New("invalid lab profile")

// maxDelay bounds simulated delays so a scenario cannot park a reply for
// longer than any client waits.
const maxDelay = 10 * time.Second

// Validate checks the profile and names the offending key.
func (p Profile) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidProfile, p.Name, fmt.Sprintf(format, a...))
	}
	switch {
	case p.Name == "":
		return bad("name is empty")
	case p.Truth != "" && !truths[p.Truth]:
		return bad("truth %q is not one of good, jittery, lossy, falseticker, unsynchronized, kod, ratelimited, silent", p.Truth)
	case p.Count < 0 || p.Count > 1000:
		return bad("count %d is outside 0..1000", p.Count)
	case p.Stratum < 0 || p.Stratum > 16:
		return bad("stratum %d is outside 0..16", p.Stratum)
	case p.Leap < 0 || p.Leap > 3:
		return bad("leap %d is outside 0..3", p.Leap)
	case p.Precision < -32 || p.Precision > 0:
		return bad("precision %d is outside -32..0", p.Precision)
	case p.Delay < 0 || p.Jitter < 0 || p.RootDelay < 0 || p.RootDispersion < 0 || p.RefAge < 0:
		return bad("delay, jitter, root_delay, root_dispersion and ref_age must not be negative")
	case p.Delay > maxDelay:
		return bad("delay %v is over %v", p.Delay, maxDelay)
	case p.Delay-abs(p.Asymmetry)/2 < 0:
		return bad("delay %v is less than half the asymmetry %v", p.Delay, p.Asymmetry)
	case p.Jitter > 0 && p.Delay-abs(p.Asymmetry)/2 < 3*p.Jitter:
		return bad("delay - |asymmetry|/2 = %v must be at least 3 × jitter (%v) so delays stay positive", p.Delay-abs(p.Asymmetry)/2, 3*p.Jitter)
	case p.Loss < 0 || p.Loss > 1:
		return bad("loss %v is outside 0..1", p.Loss)
	case p.LossPattern != "" && p.LossPattern != LossEven && p.LossPattern != LossRandom:
		return bad("loss_pattern %q: want %q or %q", p.LossPattern, LossEven, LossRandom)
	case p.KoD != "" && !printable4(p.KoD):
		return bad("kod %q: want 1 to 4 printable ASCII characters", p.KoD)
	}
	if _, err := p.refID(); err != nil {
		return bad("%v", err)
	}
	if rl := p.RateLimit; rl != nil {
		switch {
		case rl.Interval <= 0:
			return bad("ratelimit interval must be positive")
		case rl.Burst < 1 || rl.Burst > 256:
			return bad("ratelimit burst %d is outside 1..256", rl.Burst)
		case rl.Action != "" && rl.Action != ActionDrop && rl.Action != ActionKoD:
			return bad("ratelimit action %q: want %q or %q", rl.Action, ActionDrop, ActionKoD)
		}
	}
	return nil
}

// withDefaults returns p with zero values replaced by their defaults.
func (p Profile) withDefaults() Profile {
	if p.Stratum == 0 {
		p.Stratum = DefaultStratum
	}
	if p.Precision == 0 {
		p.Precision = DefaultPrecision
	}
	if p.RefAge == 0 {
		p.RefAge = DefaultRefAge
	}
	if p.LossPattern == "" {
		p.LossPattern = LossEven
	}
	if p.RateLimit != nil && p.RateLimit.Action == "" {
		rl := *p.RateLimit
		rl.Action = ActionDrop
		p.RateLimit = &rl
	}
	return p
}

// refID returns the 32-bit reference ID to send.
func (p Profile) refID() (uint32, error) {
	if p.RefID == "" {
		if p.Stratum == 1 {
			return packCode("GPS"), nil
		}
		return 0xc0000201, nil // 192.0.2.1 (RFC 5737 documentation range)
	}
	if p.Stratum == 1 {
		if !printable4(p.RefID) {
			return 0, fmt.Errorf("refid %q: a stratum-1 refid is 1 to 4 printable ASCII characters", p.RefID)
		}
		return packCode(p.RefID), nil
	}
	a, err := netip.ParseAddr(p.RefID)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("refid %q: above stratum 1 the refid is an IPv4 address", p.RefID)
	}
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
}

// packCode packs up to 4 ASCII characters into a reference ID, NUL-padded.
func packCode(s string) uint32 {
	var v uint32
	for i := 0; i < 4; i++ {
		v <<= 8
		if i < len(s) {
			v |= uint32(s[i])
		}
	}
	return v
}

func printable4(s string) bool {
	if len(s) < 1 || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] > 126 {
			return false
		}
	}
	return true
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
