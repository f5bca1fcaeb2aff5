package fallback

import (
	"context"
	"fmt"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// poll calls check until it reports done, the timeout (measured on clock)
// passes or ctx ends, pausing interval between calls. It returns nil when
// check succeeded, else the last check error wrapped with what timed out.
func poll(ctx context.Context, clk clock.Clock, timeout, interval time.Duration, what string, check func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := clk.Now().Add(timeout)
	for {
		last := check(ctx)
		if last == nil {
			return nil
		}
		if !clk.Now().Before(deadline) {
			return fmt.Errorf("%s within %v: %w", what, timeout, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %w)", what, ctx.Err(), last)
		case <-clk.After(interval):
		}
	}
}
