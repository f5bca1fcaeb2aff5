package scoring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Defaults. Each is the seed's value unless it says otherwise
// (../shared/reference/ntp-practice.md, "The seed's metric bands").
const (
	DefaultWeightJitter       = 0.35 // seed: stability first
	DefaultWeightReachability = 0.30 // seed: uptime
	DefaultWeightStratum      = 0.25 // seed: accuracy
	DefaultWeightLatency      = 0.10 // seed: speed matters least for clients
	DefaultMinStratum         = 1    // seed: min_stratum
	DefaultMaxStratum         = 3    // seed: max_stratum
	// DefaultMaxRootDistance is ntpd's maxdist (1.5 s): tighter than
	// chrony's maxdistance (3 s) and timesyncd's RootDistanceMaxSec (5 s).
	DefaultMaxRootDistance    = 1.5
	DefaultMinScore           = 60.0 // seed: min_score, the bottom of "acceptable"
	DefaultSetSize            = 4    // RFC 8633: use at least four sources
	DefaultMinSetSize         = 3    // chrony and RFC 8633: three outvote one falseticker
	DefaultHysteresisPercent  = 15.0 // seed: don't switch within 15 % of the best
	DefaultStabilityThreshold = 2    // seed: consecutive better runs before switching
	DefaultMaxChangesPerRun   = 1    // one score-driven replacement per run
	DefaultBlacklistAfterRuns = 3    // K runs in a row without any reply
	DefaultBlacklistBase      = 24 * time.Hour
	DefaultBlacklistMax       = 30 * 24 * time.Hour
)

// Limits checked by Validate.
const (
	MaxSetSize = 8 // at most 8 sources: more adds load, not accuracy
	// maxStratumLimit is RFC 5905's MAXSTRAT (16) minus one: 16 means
	// unsynchronised.
	maxStratumLimit = 15
	// maxRootDistanceLimit is where beevik/ntp's Validate rejects a
	// response (16 s); a larger limit would accept what the prober refuses.
	maxRootDistanceLimit = 16.0
	weightSumTolerance   = 1e-9 // the tolerance for the weights' sum
	// maxRunsLimit bounds the run counts (stability_threshold,
	// blacklist_after_runs): 100 runs are 25 days at the seed's 6 h
	// interval; more would make the setting meaningless, not stricter.
	maxRunsLimit = 100
	// minBlacklistBase keeps a blacklist term longer than any sane run
	// interval, so an entry outlives at least one run.
	minBlacklistBase = time.Minute
)

// Weights are the sub-scores' shares of the score. They are non-negative
// and sum to 1.
type Weights struct {
	Jitter       float64 `json:"weight_jitter" toml:"weight_jitter"`
	Reachability float64 `json:"weight_reachability" toml:"weight_reachability"`
	Stratum      float64 `json:"weight_stratum" toml:"weight_stratum"`
	Latency      float64 `json:"weight_latency" toml:"weight_latency"`
}

// Config tunes scoring and selection. The zero value is not valid; start
// from DefaultConfig. Root distances are float64 seconds like measurements.
type Config struct {
	Weights
	MinStratum         int           `json:"min_stratum" toml:"min_stratum"`
	MaxStratum         int           `json:"max_stratum" toml:"max_stratum"`
	MaxRootDistance    float64       `json:"max_root_distance" toml:"max_root_distance"`
	MinScore           float64       `json:"min_score" toml:"min_score"`
	SetSize            int           `json:"set_size" toml:"set_size"`
	MinSetSize         int           `json:"min_set_size" toml:"min_set_size"`
	HysteresisPercent  float64       `json:"hysteresis_percent" toml:"hysteresis_percent"`
	StabilityThreshold int           `json:"stability_threshold" toml:"stability_threshold"`
	MaxChangesPerRun   int           `json:"max_changes_per_run" toml:"max_changes_per_run"`
	BlacklistAfterRuns int           `json:"blacklist_after_runs" toml:"blacklist_after_runs"`
	BlacklistBase      time.Duration `json:"blacklist_base" toml:"blacklist_base"`
	BlacklistMax       time.Duration `json:"blacklist_max" toml:"blacklist_max"`
	// Authentication is the NTS policy (AuthPrefer when empty).
	Authentication AuthPolicy `json:"authentication" toml:"authentication"`
}

// DefaultConfig returns the defaults above.
func DefaultConfig() Config {
	return Config{
		Weights: Weights{
			Jitter:       DefaultWeightJitter,
			Reachability: DefaultWeightReachability,
			Stratum:      DefaultWeightStratum,
			Latency:      DefaultWeightLatency,
		},
		MinStratum:         DefaultMinStratum,
		MaxStratum:         DefaultMaxStratum,
		MaxRootDistance:    DefaultMaxRootDistance,
		MinScore:           DefaultMinScore,
		SetSize:            DefaultSetSize,
		MinSetSize:         DefaultMinSetSize,
		HysteresisPercent:  DefaultHysteresisPercent,
		StabilityThreshold: DefaultStabilityThreshold,
		MaxChangesPerRun:   DefaultMaxChangesPerRun,
		BlacklistAfterRuns: DefaultBlacklistAfterRuns,
		BlacklistBase:      DefaultBlacklistBase,
		BlacklistMax:       DefaultBlacklistMax,
		Authentication:     AuthPrefer,
	}
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("invalid scoring configuration")

// ConfigError names the bad key, its value and what is allowed.
type ConfigError struct {
	Key     string // the config key, as in config.toml
	Value   any
	Allowed string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s = %v: must be %s", e.Key, e.Value, e.Allowed)
}

// Unwrap lets errors.Is(err, ErrInvalidConfig) match.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Validate returns the first bad key, or nil.
func (c *Config) Validate() error {
	bad := func(key string, v any, allowed string) error {
		return &ConfigError{Key: key, Value: v, Allowed: allowed}
	}
	w := []struct {
		key string
		v   float64
	}{
		{"weight_jitter", c.Jitter},
		{"weight_reachability", c.Reachability},
		{"weight_stratum", c.Stratum},
		{"weight_latency", c.Latency},
	}
	sum := 0.0
	for _, x := range w {
		if math.IsNaN(x.v) || x.v < 0 || x.v > 1 {
			return bad(x.key, x.v, "between 0 and 1")
		}
		sum += x.v
	}
	if math.Abs(sum-1) > weightSumTolerance {
		return bad("weight_jitter + weight_reachability + weight_stratum + weight_latency", sum,
			"1 (within 1e-9)")
	}
	switch {
	case c.MinStratum < 1 || c.MinStratum > maxStratumLimit:
		return bad("min_stratum", c.MinStratum, fmt.Sprintf("1..%d", maxStratumLimit))
	case c.MaxStratum < c.MinStratum || c.MaxStratum > maxStratumLimit:
		return bad("max_stratum", c.MaxStratum, fmt.Sprintf("min_stratum (%d)..%d", c.MinStratum, maxStratumLimit))
	case !(c.MaxRootDistance > 0 && c.MaxRootDistance <= maxRootDistanceLimit):
		return bad("max_root_distance", c.MaxRootDistance, "more than 0 and at most 16 (seconds)")
	case !(c.MinScore >= 0 && c.MinScore <= 100):
		return bad("min_score", c.MinScore, "0..100")
	case c.SetSize < 1 || c.SetSize > MaxSetSize:
		return bad("set_size", c.SetSize, fmt.Sprintf("1..%d", MaxSetSize))
	case c.MinSetSize < 1 || c.MinSetSize > MaxSetSize:
		return bad("min_set_size", c.MinSetSize, fmt.Sprintf("1..%d", MaxSetSize))
	case !(c.HysteresisPercent >= 0 && c.HysteresisPercent < 100):
		return bad("hysteresis_percent", c.HysteresisPercent, "at least 0 and below 100")
	case c.StabilityThreshold < 1 || c.StabilityThreshold > maxRunsLimit:
		return bad("stability_threshold", c.StabilityThreshold, fmt.Sprintf("1..%d (runs)", maxRunsLimit))
	case c.MaxChangesPerRun < 0 || c.MaxChangesPerRun > MaxSetSize:
		return bad("max_changes_per_run", c.MaxChangesPerRun, fmt.Sprintf("0..%d", MaxSetSize))
	case c.BlacklistAfterRuns < 1 || c.BlacklistAfterRuns > maxRunsLimit:
		return bad("blacklist_after_runs", c.BlacklistAfterRuns, fmt.Sprintf("1..%d (runs)", maxRunsLimit))
	case c.BlacklistBase < minBlacklistBase:
		return bad("blacklist_base", c.BlacklistBase, fmt.Sprintf("at least %v", minBlacklistBase))
	case c.BlacklistMax < c.BlacklistBase:
		return bad("blacklist_max", c.BlacklistMax, fmt.Sprintf("at least blacklist_base (%v)", c.BlacklistBase))
	case c.Authentication != "" && !slices.Contains(AuthPolicies, c.Authentication):
		return bad("authentication", c.Authentication, "prefer, require or off")
	}
	return nil
}

// minSet is the size below which the set is not shrunk: MinSetSize, but
// never more than SetSize.
func (c *Config) minSet() int {
	return min(c.MinSetSize, c.SetSize)
}
