// Package clocktest has a fake clock for code that waits in one goroutine.
package clocktest

import (
	"sync"
	"time"
)

// Stepper is a clock whose After fires at once and moves Now forward by
// the wait, so code that polls until a deadline runs through simulated
// minutes in microseconds and deterministically. Safe for concurrent use.
type Stepper struct {
	mu  sync.Mutex
	now time.Time
}

// NewStepper returns a Stepper reading t.
func NewStepper(t time.Time) *Stepper { return &Stepper{now: t} }

// Now returns the clock's time.
func (s *Stepper) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// After advances the clock by d and returns a channel that already holds
// the new time.
func (s *Stepper) After(d time.Duration) <-chan time.Time {
	s.mu.Lock()
	s.now = s.now.Add(max(d, 0))
	now := s.now
	s.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

// Advance moves the clock forward by d, as if time passed elsewhere.
func (s *Stepper) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}
