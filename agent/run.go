package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// newRunID returns a short random id for log lines and history.
func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run does one optimisation run. The report is returned whenever the run
// got far enough to have one, also with an error: daemon.ErrRolledBack,
// ErrNoUsable, ErrInput, ErrStateNotSaved, ErrLocked or an operational
// error. A dry run reads the state without changing the state directory
// and records nothing.
func (a *Agent) Run(ctx context.Context, opt Options) (*Report, error) {
	start := a.now()
	rep := &Report{RunID: newRunID(), Time: start.UTC(), Backend: a.Backend.Name(), Policy: string(a.Policy),
		DryRun: opt.DryRun, Selected: []string{}, Added: []scoring.Change{}, Removed: []scoring.Change{}}
	log := a.Log.With().Str("run_id", rep.RunID).Str("backend", rep.Backend).Logger()

	var stateErr error
	load := a.Store.PeekState
	if !opt.DryRun {
		load = a.Store.LoadState
		lock, err := a.Store.Lock(ctx, a.LockWait)
		switch {
		case errors.Is(err, ErrLocked), ctx.Err() != nil:
			return nil, err
		case err != nil:
			// An unusable state directory must not stop the machine from
			// getting good time: apply anyway, warn, and exit non-zero.
			stateErr = err
			log.Warn().Err(err).Msg("state directory unusable: applying without a lock or saved state")
		default:
			defer lock.Unlock()
		}
	}
	st, moved, err := load()
	if err != nil {
		stateErr = errors.Join(stateErr, err)
		log.Warn().Err(err).Msg("state not readable: starting from an empty state")
	}
	for _, m := range moved {
		rep.warn(m)
	}

	rep.Outcome = OutcomeFailed
	err = a.pipeline(ctx, rep, &st, opt, log)
	rep.Duration = a.now().Sub(start).Seconds()
	if err != nil {
		rep.Reason = err.Error()
	}
	if opt.DryRun {
		return rep, err
	}
	if serr := a.record(ctx, rep, &st, stateErr, log); serr != nil && err == nil {
		err = serr
	}
	return rep, err
}

// pipeline is discover → measure → decide → apply; it fills rep and
// updates st.
func (a *Agent) pipeline(ctx context.Context, rep *Report, st *State, opt Options, log zerolog.Logger) error {
	sources, found, err := a.discover(ctx, rep)
	if err != nil {
		return err
	}
	ev, err := a.measure(ctx, sources, found.Candidates, st, rep.Time, log)
	if errors.Is(err, ErrOutage) {
		// The report shows what was measured; the state (blacklist,
		// hysteresis) and the daemon stay exactly as they were.
		rep.Outcome, rep.Candidates = OutcomeOutage, ev.Reports
		for _, d := range sources {
			if d.Address.IsValid() {
				rep.Selected = append(rep.Selected, d.Address.String())
			}
		}
		return err
	}
	if err != nil {
		return err
	}
	plan := a.decide(rep, ev, sources, st, found.Candidates)
	if len(ev.Decision.Selected) == 0 {
		st.Scoring = ev.State
		rep.Outcome = OutcomeNoUsable
		return fmt.Errorf("%w: none of %d candidates passed the filters", ErrNoUsable, len(rep.Candidates))
	}
	if opt.DryRun {
		rep.Outcome = OutcomeDryRun
		rep.Changed = len(plan.Add)+len(plan.Remove) > 0
		rep.Diff, err = a.Backend.Preview(plan)
		return err
	}
	st.Scoring = ev.State
	return a.apply(ctx, rep, st, plan, log)
}
