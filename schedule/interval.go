package schedule

import (
	"fmt"
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
