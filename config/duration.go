package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads "90s", "1h30m", or a bare number
// in the key's unit (the seed's `timeout = 5` seconds, `interval_hours = 6`).
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses a duration as configuration values are written:
// "90s", "6h", "1d", or a bare number of unit.
func ParseDuration(s string, unit time.Duration) (time.Duration, error) {
	d, err := parseDuration(strings.TrimSpace(s), unit)
	return d.D(), err
}

// maxDuration bounds parsed values well inside time.Duration's range.
const maxDuration = 10 * 365 * 24 * time.Hour

// parseDuration parses s as a Go duration ("90m", "6h"), a number of days
// ("1d") or a bare number of unit (the seed's `interval_hours = 6`).
func parseDuration(s string, unit time.Duration) (Duration, error) {
	bad := fmt.Errorf("want a duration like 90s, 6h or 1d, or a number of %s", unitName(unit))
	var d time.Duration
	days := false
	if n, ok := strings.CutSuffix(s, "d"); ok {
		unit, s, days = 24*time.Hour, n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f*float64(unit)) > float64(maxDuration) {
			return 0, bad
		}
		d = time.Duration(f * float64(unit))
	} else if d, err = time.ParseDuration(s); err != nil || days || d > maxDuration || d < -maxDuration {
		return 0, bad
	}
	return Duration(d), nil
}

func unitName(u time.Duration) string {
	switch u {
	case time.Hour:
		return "hours"
	case time.Minute:
		return "minutes"
	case time.Millisecond:
		return "milliseconds"
	}
	return "seconds"
}

// MarshalText writes the Go duration form, so `config show --json` and
// saved files read back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
