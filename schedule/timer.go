package schedule

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
)

// TimerTimes is when a timer last fired and fires next. A zero time means
// never (Last) or not scheduled (Next).
type TimerTimes struct {
	Last time.Time
	Next time.Time
}

// Clocks reads the realtime and monotonic clocks at one instant; systemd
// keeps a monotonic timer's next elapse on CLOCK_MONOTONIC.
type Clocks func() (realtime time.Time, monotonic time.Duration)

// SystemClocks reads the system's clocks.
func SystemClocks() (time.Time, time.Duration) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Now(), time.Duration(ts.Nano())
}

// TimerReader reads a unit's uint64 property (*systemd.Conn).
type TimerReader interface {
	Uint64Property(ctx context.Context, unit, iface, name string) (uint64, error)
}

// ReadTimerTimes reads the timer's LastTriggerUSec and its next elapse:
// NextElapseUSecRealtime for calendar timers, else NextElapseUSecMonotonic
// converted to wall-clock time as "systemctl list-timers" does (now +
// next - monotonic now). clocks nil uses SystemClocks.
func ReadTimerTimes(ctx context.Context, r TimerReader, timer string, clocks Clocks) (TimerTimes, error) {
	if clocks == nil {
		clocks = SystemClocks
	}
	var usec [3]uint64
	for i, name := range []string{"LastTriggerUSec", "NextElapseUSecRealtime", "NextElapseUSecMonotonic"} {
		v, err := r.Uint64Property(ctx, timer, systemd.TimerInterface, name)
		if err != nil {
			return TimerTimes{}, err
		}
		usec[i] = v
	}
	last, nextRT, nextMono := usec[0], usec[1], usec[2]
	t := TimerTimes{Last: fromUSec(last)}
	switch {
	case set(nextRT):
		t.Next = fromUSec(nextRT)
	case set(nextMono):
		now, mono := clocks()
		t.Next = now.Add(time.Duration(nextMono)*time.Microsecond - mono).Round(time.Second)
	}
	return t, nil
}

// set reports whether a systemd usec_t holds a time: 0 means unset and
// UINT64_MAX infinity.
func set(usec uint64) bool { return usec != 0 && usec != math.MaxUint64 }

func fromUSec(usec uint64) time.Time {
	if !set(usec) || usec > math.MaxInt64/1000 {
		return time.Time{}
	}
	return time.UnixMicro(int64(usec))
}

// String shows the times the way status prints them.
func (t TimerTimes) String() string {
	f := func(x time.Time, none string) string {
		if x.IsZero() {
			return none
		}
		return x.Local().Format("2006-01-02 15:04:05 MST")
	}
	return fmt.Sprintf("last run %s, next run %s", f(t.Last, "never"), f(t.Next, "not scheduled"))
}
