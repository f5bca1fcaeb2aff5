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

// Time formats |s| seconds with a unit in 6 characters as chronyc's
// print_nanoseconds does ("4000ms", " 417ns", "  1.5s").
func Time(s float64) string {
	s = math.Abs(s)
	switch {
	case s < 9999.5e-9:
		return fmt.Sprintf("%4.0fns", s*1e9)
	case s < 9999.5e-6:
		return fmt.Sprintf("%4.0fus", s*1e6)
	case s < 9999.5e-3:
		return fmt.Sprintf("%4.0fms", s*1e3)
	case s < 999.5:
		return fmt.Sprintf("%5.1fs", s)
	case s < 99999.5:
		return fmt.Sprintf("%5.0fs", s)
	case s < 99999.5*60:
		return fmt.Sprintf("%5.0fm", s/60)
	case s < 99999.5*3600:
		return fmt.Sprintf("%5.0fh", s/3600)
	case s < 99999.5*3600*24:
		return fmt.Sprintf("%5.0fd", s/(3600*24))
	}
	return fmt.Sprintf("%5.0fy", s/(3600*24*365))
}

// SignedTime formats s seconds with sign and unit in 7 characters as
// chronyc's print_signed_nanoseconds does ("+1989ns", "   -0ns").
func SignedTime(s float64) string {
	x := math.Abs(s)
	switch {
	case x < 9999.5e-9:
		return fmt.Sprintf("%+5.0fns", s*1e9)
	case x < 9999.5e-6:
		return fmt.Sprintf("%+5.0fus", s*1e6)
	case x < 9999.5e-3:
		return fmt.Sprintf("%+5.0fms", s*1e3)
	case x < 999.5:
		return fmt.Sprintf("%+6.1fs", s)
	case x < 99999.5:
		return fmt.Sprintf("%+6.0fs", s)
	case x < 99999.5*60:
		return fmt.Sprintf("%+6.0fm", s/60)
	case x < 99999.5*3600:
		return fmt.Sprintf("%+6.0fh", s/3600)
	case x < 99999.5*3600*24:
		return fmt.Sprintf("%+6.0fd", s/(3600*24))
	}
	return fmt.Sprintf("%+6.0fy", s/(3600*24*365))
}

// PPM formats a frequency in ppm in 10 characters as chronyc's
// print_freq_ppm does (3 decimals below 99999.5).
func PPM(f float64) string {
	if math.Abs(f) < 99999.5 {
		return fmt.Sprintf("%10.3f", f)
	}
	return fmt.Sprintf("%10.0f", f)
}

// SignedPPM is PPM with a sign (print_signed_freq_ppm).
func SignedPPM(f float64) string {
	if math.Abs(f) < 99999.5 {
		return fmt.Sprintf("%+10.3f", f)
	}
	return fmt.Sprintf("%+10.0f", f)
}
