package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
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
// daemon.ErrRollbackFailed, daemon.ErrNotPersisted, ErrNoUsable, ErrInput,
// ErrStateNotSaved, ErrOutage or an operational error; without a report
// ErrLocked or ErrNoLock (nothing was changed or recorded). A dry run
// reads the state without changing the state directory and records
// nothing.
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
			// No run lock anywhere: another run may be changing the daemon
			// right now, so this one changes nothing.
			log.Error().Err(err).Msg("no run lock: changing nothing")
			return nil, err
		}
		defer lock.Unlock()
		for _, e := range lock.Skipped {
			if e != lock.StateErr {
				// Held in the state directory, which is what every run
				// that can use it takes: still one run at a time.
				log.Info().Err(e).Msg("run lock taken in the state directory only")
			}
		}
		if lock.StateErr != nil {
			// An unusable state directory must not stop the machine from
			// getting good time: the run holds the lock in the lock
			// directory, applies, warns, and exits non-zero.
			stateErr = lock.StateErr
			log.Warn().Err(stateErr).Msg("state directory unusable: applying (under the lock in the lock directory) without saved state")
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
	err = a.pipeline(ctx, rep, &st, opt, stateErr, log)
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

// manage records the sources the backend added as managed, and forgets
// those it removed.
func (a *Agent) manage(rep *Report, st *State, applied daemon.Applied) {
	for _, s := range applied.Added {
		st.Managed[s.Address.String()] = ManagedSource{Name: s.Name, Port: s.Port, AddedAt: rep.Time, RunID: rep.RunID}
	}
	for _, d := range applied.Removed {
		delete(st.Managed, d.Address.String())
	}
}

// oneLine is err's text on one line (errors.Join puts one per line).
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// writeAhead records the plan's additions as pending in the state
// directory before the daemon is asked for them, so that a run killed
// while applying (SIGKILL, a crash, power loss) leaves a record of what it
// may have added: the next run adopts those the daemon has (adopt). The
// state written is the one this run loaded (with what adopt settled) plus
// the additions: a killed run leaves nothing else behind, not even its
// hysteresis counts. Without a usable state directory there is nowhere to
// write it: the run ends "state not saved" anyway.
func (a *Agent) writeAhead(rep *Report, st *State, plan daemon.Plan, stateErr error, log zerolog.Logger) {
	if len(plan.Add) == 0 {
		return
	}
	if st.Pending == nil {
		st.Pending = map[string]ManagedSource{}
	}
	for _, s := range plan.Add {
		st.Pending[s.Address.String()] = ManagedSource{Name: s.Name, Port: s.Port, AddedAt: rep.Time, RunID: rep.RunID}
	}
	if stateErr != nil {
		return
	}
	if err := a.Store.SaveState(*st); err != nil {
		rep.warn("the additions could not be recorded before applying them: " + err.Error())
		log.Warn().Err(err).Msg("write-ahead record of the additions not saved")
	}
}

// adopt settles the additions a previous run recorded as pending and
// never confirmed (it was killed while applying, or its rollback failed):
// those the daemon has are the agent's, managed from now on (so add-only
// can remove them); the others never happened or were undone.
func (a *Agent) adopt(rep *Report, st *State, sources []daemon.Source) {
	if len(st.Pending) == 0 {
		return
	}
	have := map[string]bool{}
	for _, d := range sources {
		if d.Address.IsValid() {
			have[d.Address.String()] = true
		}
	}
	for _, addr := range slices.Sorted(maps.Keys(st.Pending)) {
		m := st.Pending[addr]
		if _, managed := st.Managed[addr]; !have[addr] || managed {
			continue
		}
		st.Managed[addr] = m
		rep.Notes = append(rep.Notes, fmt.Sprintf("adopted %s as a managed source: run %s added it and ended before recording it", addr, m.RunID))
	}
	st.Pending = nil
}

// pipeline is discover → measure → decide → apply; it fills rep and
// updates st. stateErr says the state directory is unusable (nothing can
// be written ahead).
func (a *Agent) pipeline(ctx context.Context, rep *Report, st *State, opt Options, stateErr error, log zerolog.Logger) error {
	if !opt.DryRun {
		// Before anything else: what a killed run left under audition.
		if err := a.endAuditions(ctx, rep, st, true, log); err != nil {
			return fmt.Errorf("deleting the sources an earlier run left under audition: %w", err)
		}
	}
	sources, found, err := a.discover(ctx, rep)
	if err != nil {
		return err
	}
	if opt.DryRun {
		sources = hideAuditions(rep, st, sources)
	}
	a.adopt(rep, st, sources)
	au := a.auditioner(ctx, rep, opt, stateErr, sources)
	if au != nil {
		// After the apply (which promotes the winners), whatever happened.
		defer func() { _ = a.endAuditions(ctx, rep, st, false, log) }()
	}
	ev, err := a.measure(ctx, sources, found.Candidates, st, rep.Time, au, rep.RunID, log)
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
	a.writeAhead(rep, st, plan, stateErr, log)
	st.Scoring = ev.State
	return a.apply(ctx, rep, st, plan, log)
}
