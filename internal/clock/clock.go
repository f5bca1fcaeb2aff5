// Package clock is the one time source the agent schedules, waits and
// stamps with (not NTP timestamps: those come from the system clock and
// the kernel). Every component takes a Clock as a field, so tests run on
// a clock of their own, on any date: clocktest.Stepper for code that waits
// in one goroutine, clockwork's FakeClock for concurrent code.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits. *clockwork.FakeClock satisfies it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type system struct{}

func (system) Now() time.Time                         { return time.Now() }
func (system) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Real is the system clock.
func Real() Clock { return system{} }

// Or returns c, or the system clock when c is nil: the zero value of a
// component's Clock field means the real clock.
func Or(c Clock) Clock {
	if c == nil {
		return system{}
	}
	return c
}

// Sleep waits d on c, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.After(d):
		return nil
	}
}
