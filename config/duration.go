package config

import (
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration that reads "90s", "1h30m", or a bare number
// in the key's unit (the seed's `timeout = 5` seconds, `interval_hours = 6`).
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// parseDuration parses s as a Go duration or a number of unit.
func parseDuration(s string, unit time.Duration) (Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return Duration(f * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 90s or 6h, or a number of %s", unitName(unit))
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
