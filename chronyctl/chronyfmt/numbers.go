package chronyfmt

import (
	"fmt"
	"math"
)

// noInterval is the u32 that means "never" (e.g. no sample yet).
const noInterval = 0xFFFFFFFF

// Interval formats a count of seconds in 4 characters as chronyc's
// print_seconds does (LastRx, Span): "   -" for none, then seconds below
// 1200, minutes below 36000 s, hours below 4 days, days up to 999, years.
func Interval(s uint32) string {
	switch {
	case s == noInterval:
		return "   -"
	case s < 1200:
		return fmt.Sprintf("%4d", s)
	case s < 36000:
		return fmt.Sprintf("%3dm", s/60)
	case s < 345600:
		return fmt.Sprintf("%3dh", s/3600)
	}
	d := s / 86400
	if d > 999 {
		return fmt.Sprintf("%3dy", d/365)
	}
	return fmt.Sprintf("%3dd", d)
}

// timeUnits are chronyc's print_nanoseconds steps: below limit, the value
// is s·mul/div with unit suffix, short (ns, us, ms: 4 or 5 characters
// wide) or long (5 or 6) and with prec decimals. mul and div are applied
// as chronyc does (s * 1e9, s / 60), so the rounding is the same.
var timeUnits = []struct {
	limit, mul, div float64
	unit            string
	short           bool
	prec            int
}{
	{9999.5e-9, 1e9, 1, "ns", true, 0},
	{9999.5e-6, 1e6, 1, "us", true, 0},
	{9999.5e-3, 1e3, 1, "ms", true, 0},
	{999.5, 1, 1, "s", false, 1},
	{99999.5, 1, 1, "s", false, 0},
	{99999.5 * 60, 1, 60, "m", false, 0},
	{99999.5 * 3600, 1, 3600, "h", false, 0},
	{99999.5 * 3600 * 24, 1, 3600 * 24, "d", false, 0},
	{math.Inf(1), 1, 3600 * 24 * 365, "y", false, 0},
}

// Time formats |s| seconds with a unit in 6 characters as chronyc's
// print_nanoseconds does ("4000ms", " 417ns", "  1.5s").
func Time(s float64) string { return withUnit(math.Abs(s), "%*.*f%s", 4) }

// SignedTime formats s seconds with sign and unit in 7 characters as
// chronyc's print_signed_nanoseconds does ("+1989ns", "   -0ns").
func SignedTime(s float64) string { return withUnit(s, "%+*.*f%s", 5) }

// withUnit picks the unit by |s| and prints s scaled in it; width is the
// number's width for the short units, one more for the long ones.
func withUnit(s float64, format string, width int) string {
	x := math.Abs(s)
	for _, u := range timeUnits {
		if x < u.limit || math.IsInf(u.limit, 1) {
			w := width
			if !u.short {
				w++
			}
			return fmt.Sprintf(format, w, u.prec, s*u.mul/u.div, u.unit)
		}
	}
	return "" // not reached: the last limit is +Inf
}
