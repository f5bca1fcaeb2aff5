package schedule

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Interval limits: more often than every 5 minutes would probe public
// servers harder than the pool's usage rules allow for a client; less often
// than weekly is not "keeping sources optimal".
const (
	MinInterval     = 5 * time.Minute
	MaxInterval     = 7 * 24 * time.Hour
	DefaultInterval = 6 * time.Hour // the seed's interval_hours
)

// ErrInterval is wrapped by every ParseInterval error.
var ErrInterval = errors.New("invalid interval")

// ParseInterval accepts the seed's hours ("12", "1.5") as well as Go
// durations ("90m", "6h") and days ("1d"), and checks the result is from
// MinInterval to MaxInterval.
func ParseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if h, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(h) || math.IsInf(h, 0) || h > MaxInterval.Hours()*2 {
			return 0, fmt.Errorf("%w %q: it must be from %s to %s", ErrInterval, s, FormatSpan(MinInterval), FormatSpan(MaxInterval))
		}
		d = time.Duration(h * float64(time.Hour))
	} else if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || math.IsNaN(days) || math.IsInf(days, 0) || days > MaxInterval.Hours() {
			return 0, fmt.Errorf("%w %q: want hours (12), a duration (90m, 6h) or days (1d)", ErrInterval, s)
		}
		d = time.Duration(days * 24 * float64(time.Hour))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("%w %q: want hours (12), a duration (90m, 6h) or days (1d)", ErrInterval, s)
	}
	if d < MinInterval || d > MaxInterval {
		return 0, fmt.Errorf("%w %q: it must be from %s to %s", ErrInterval, s, FormatSpan(MinInterval), FormatSpan(MaxInterval))
	}
	return d, nil
}

// FormatSpan writes d as a systemd time span ("6h", "1h 30min", "7d"),
// to whole seconds.
func FormatSpan(d time.Duration) string {
	d = d.Round(time.Second)
	if d <= 0 {
		return "0"
	}
	var parts []string
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"min", time.Minute}, {"s", time.Second}} {
		if n := d / u.d; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.unit))
			d -= n * u.d
		}
	}
	return strings.Join(parts, " ")
}
