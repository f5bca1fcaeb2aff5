package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Policies: which sources the agent may remove.
const (
	// PolicyConverge makes the daemon's NTP sources the selected set;
	// pinned servers and reference clocks are never removed.
	PolicyConverge = "converge"
	// PolicyAddOnly never removes sources the agent did not add.
	PolicyAddOnly = "add-only"
)

// Agent runs the optimisation: discovery → measurement → decision →
// backend → record. Every dependency is a field so tests can replace it.
type Agent struct {
	Backend    Backend
	Discoverer *discovery.Discoverer
	Prober     *prober.Prober
	Store      *Store
	Log        zerolog.Logger
	Clock      clock.Clock   // the run's clock; nil is the system clock
	LockWait   time.Duration // how long to wait for a run in progress

	Discovery discovery.Config
	Scoring   scoring.Config
	Policy    string
	// HistoryRetention is how long run history is kept.
	HistoryRetention time.Duration
	// AfterRun, when set, is called at the end of every run that is not a
	// dry run, before the state is saved: notifications and metrics. It
	// may update st.Notify and returns warnings for the report; it must
	// not fail the run.
	AfterRun func(ctx context.Context, r *Report, st *State) []string
}

// Options are per-run switches.
type Options struct {
	DryRun bool
}

func (a *Agent) now() time.Time { return clock.Or(a.Clock).Now() }

// newRunID returns a short random id for log lines and history.
func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run does one optimisation run. The report is returned whenever the run
// got far enough to have one, also with an error: ErrRolledBack,
// ErrNoUsable, ErrStateNotSaved, ErrLocked or an operational error.
func (a *Agent) Run(ctx context.Context, opt Options) (*Report, error) {
	start := a.now()
	rep := &Report{RunID: newRunID(), Time: start.UTC(), Backend: a.Backend.Name(), Policy: a.Policy,
		DryRun: opt.DryRun, Selected: []string{}, Added: []scoring.Change{}, Removed: []scoring.Change{}}
	log := a.Log.With().Str("run_id", rep.RunID).Str("backend", rep.Backend).Logger()

	var stateErr error
	a.Store.ReadOnly = opt.DryRun
	if !opt.DryRun {
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
	st, err := a.Store.LoadState()
	if err != nil {
		stateErr = errors.Join(stateErr, err)
		log.Warn().Err(err).Msg("state not readable: starting from an empty state")
	}
	for _, m := range a.Store.Moved {
		rep.warn(m)
	}

	rep.Outcome = OutcomeFailed
	err = a.run(ctx, rep, &st, opt, log)
	rep.Duration = a.now().Sub(start).Seconds()
	if err != nil {
		rep.Reason = err.Error()
	}
	if opt.DryRun {
		return rep, err
	}
	st.Counters.Runs++
	switch rep.Outcome {
	case OutcomeApplied:
		st.Counters.Changes++
	case OutcomeRolledBack:
		st.Counters.Rollbacks++
	case OutcomeFailed:
		st.Counters.Failures++
	}
	if rep.Outcome == OutcomeApplied || rep.Outcome == OutcomeUnchanged {
		st.LastSuccess = rep.Time
	}
	st.LastRun = rep.summary()
	if a.AfterRun != nil {
		for _, w := range a.AfterRun(ctx, rep, &st) {
			rep.warn(w)
		}
	}
	if stateErr == nil {
		stateErr = errors.Join(a.Store.SaveState(st), a.Store.SaveRun(rep), a.Store.PruneHistory(a.HistoryRetention))
	}
	if stateErr != nil {
		rep.warn("state not saved: " + stateErr.Error())
		log.Error().Err(stateErr).Msg("could not save the state; the next run starts without this one's history")
		if err == nil {
			err = fmt.Errorf("%w: %v", ErrStateNotSaved, stateErr)
		}
	}
	return rep, err
}

// run is the pipeline; it fills rep and updates st.
func (a *Agent) run(ctx context.Context, rep *Report, st *State, opt Options, log zerolog.Logger) error {
	now := rep.Time
	sources, err := a.Backend.Sources(ctx)
	if err != nil {
		return err
	}
	found, err := a.Discoverer.Discover(ctx, a.Discovery, discoverySources(sources))
	if err != nil {
		// Discover fails only on the operator's input (config, lists).
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	rep.Region = &found.Region
	rep.Notes = append(rep.Notes, found.Notes...)
	for _, w := range found.WarningText() {
		rep.warn(w)
	}

	daemon, current := a.daemonView(sources, st)
	measured := map[netip.Addr]bool{}
	for _, m := range daemon {
		measured[m.Address] = true
	}
	a.Prober.Skip = func(ap netip.AddrPort) string {
		if measured[ap.Addr()] {
			return "measured by " + a.Backend.Name()
		}
		if e, ok := st.Scoring.Blacklisted(ap.Addr(), now); ok {
			return fmt.Sprintf("blacklisted until %s (%s)", e.Until.UTC().Format(time.RFC3339), e.Reason)
		}
		return ""
	}
	a.Prober.Logger = log
	probes, err := a.Prober.Probe(ctx, Targets(found.Candidates))
	if err != nil {
		return fmt.Errorf("measuring servers: %w", err)
	}
	ev, err := Evaluate(EvalInput{Probes: probes, Daemon: daemon, Candidates: found.Candidates, Current: current},
		st.Scoring, now, a.Scoring)
	if err != nil {
		return err
	}
	dec := ev.Decision
	rep.Candidates = ev.Reports
	rep.Relaxed = dec.Relaxed
	rep.Notes = append(rep.Notes, dec.Notes...)
	for _, addr := range dec.Selected {
		rep.Selected = append(rep.Selected, addr.String())
	}
	plan := a.plan(dec, sources, st, found.Candidates)
	rep.Added, rep.Removed = planChanges(plan, dec)

	if len(dec.Selected) == 0 {
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
	if len(plan.Add)+len(plan.Remove) == 0 {
		rep.Outcome = OutcomeUnchanged
		// The backend still persists the set (e.g. a sources file that is
		// missing after a manual edit); this changes nothing live.
		applied, err := a.Backend.Apply(ctx, plan)
		for _, w := range applied.Warnings {
			rep.warn(w)
		}
		return err
	}
	log.Info().Int("add", len(plan.Add)).Int("remove", len(plan.Remove)).Msg("changing the sources")
	applied, err := a.Backend.Apply(ctx, plan)
	for _, w := range applied.Warnings {
		rep.warn(w)
	}
	if applied.RolledBack {
		rep.Outcome, rep.RolledBack = OutcomeRolledBack, true
		rep.Added, rep.Removed = []scoring.Change{}, []scoring.Change{}
		if err == nil {
			err = fmt.Errorf("%w: %s", ErrRolledBack, applied.Reason)
		}
		return err
	}
	if err != nil {
		return err
	}
	rep.Outcome, rep.Changed = OutcomeApplied, true
	for _, s := range applied.Added {
		st.Managed[s.Address.String()] = ManagedSource{Name: s.Name, Port: s.Port, AddedAt: now, RunID: rep.RunID}
	}
	for _, d := range applied.Removed {
		delete(st.Managed, d.Address.String())
	}
	return nil
}

// discoverySources are the daemon's sources as discovery candidates: by
// address, so the members of one pool stay separate candidates.
func discoverySources(ds []DaemonSource) []discovery.Source {
	var out []discovery.Source
	for _, d := range ds {
		if d.Address.IsValid() && !d.Refclock {
			out = append(out, discovery.Source{Name: d.Address.String(), Port: d.Port})
		}
	}
	return out
}

// daemonView returns the daemon's own measurements and the current set as
// scoring should see it: all NTP sources under converge, only the ones the
// agent added under add-only.
func (a *Agent) daemonView(ds []DaemonSource, st *State) ([]scoring.Measurement, map[netip.Addr]bool) {
	var ms []scoring.Measurement
	current := map[netip.Addr]bool{}
	for _, d := range ds {
		if !d.Address.IsValid() || d.Refclock {
			continue
		}
		_, managed := st.Managed[d.Address.String()]
		if a.Policy == PolicyConverge || managed {
			current[d.Address] = true
		}
		if d.Measurement != nil {
			ms = append(ms, *d.Measurement)
		}
	}
	return ms, current
}
