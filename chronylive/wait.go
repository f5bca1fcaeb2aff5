package chronylive

import (
	"context"
	"fmt"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// waitAnswered polls chronyd until every added source has answered at
// least once (a non-zero reach register). It fails with the sources still
// silent after AnswerTimeout, or with chronyd's error.
func (b *Backend) waitAnswered(ctx context.Context, added []daemon.Server) error {
	if len(added) == 0 {
		return nil
	}
	clk := clock.Or(b.Clock)
	deadline := clk.Now().Add(b.answerTimeout())
	for {
		srcs, err := b.Client.SourcesParts(ctx, 0)
		if err != nil {
			return fmt.Errorf("waiting for new sources to answer: %w", err)
		}
		reach := map[string]uint8{}
		for _, s := range srcs {
			reach[s.Address.String()] = s.Reach
		}
		var silent []string
		for _, s := range added {
			if reach[s.Address.String()] == 0 {
				silent = append(silent, s.Address.String())
			}
		}
		if len(silent) == 0 {
			return nil
		}
		if clk.Now().After(deadline) {
			return fmt.Errorf("new sources did not answer within %v: %s", b.answerTimeout(), strings.Join(silent, ", "))
		}
		if err := clock.Sleep(ctx, clk, pollEvery); err != nil {
			return fmt.Errorf("waiting for new sources to answer (%s silent): %w", strings.Join(silent, ", "), err)
		}
	}
}

// verify waits until chronyd has selected a reachable source and its leap
// status is normal.
func (b *Backend) verify(ctx context.Context) error {
	clk := clock.Or(b.Clock)
	deadline := clk.Now().Add(b.verifyTimeout())
	for {
		why := b.unhealthy(ctx)
		if why == "" {
			return nil
		}
		if clk.Now().After(deadline) {
			return fmt.Errorf("verification failed after %v: %s", b.verifyTimeout(), why)
		}
		if err := clock.Sleep(ctx, clk, pollEvery); err != nil {
			return fmt.Errorf("verification interrupted (%s): %w", why, err)
		}
	}
}

// unhealthy says what keeps chronyd from being healthy now; "" when it
// has selected a reachable source and its leap status is normal.
func (b *Backend) unhealthy(ctx context.Context) string {
	tr, err := b.Client.Tracking(ctx)
	if err != nil {
		return err.Error()
	}
	srcs, err := b.Client.SourcesParts(ctx, 0)
	if err != nil {
		return err.Error()
	}
	selected := false
	for _, s := range srcs {
		selected = selected || s.State == chronyctl.StateSelected && s.Reach != 0
	}
	switch {
	case !selected:
		return "chronyd has not selected a reachable source"
	case tr.Leap != chronyctl.LeapNormal:
		return "chronyd's leap status is " + tr.Leap.String()
	}
	return ""
}
