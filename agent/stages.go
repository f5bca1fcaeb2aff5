package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// discover reads the daemon's sources and finds the candidates: the
// configured lists, the daemon's sources themselves, the region's pool
// zones and the catalog.
func (a *Agent) discover(ctx context.Context, rep *Report) ([]daemon.Source, discovery.Result, error) {
	sources, err := a.Backend.Sources(ctx)
	if err != nil {
		return nil, discovery.Result{}, err
	}
	found, err := a.Discoverer.Discover(ctx, a.Discovery, discoverySources(sources))
	if err != nil {
		// Discover fails only on the operator's input (config, lists).
		return nil, discovery.Result{}, fmt.Errorf("%w: %w", ErrInput, err)
	}
	rep.Region = &found.Region
	// The catalog's NTS servers are used with NTS where the daemon can
	// authenticate; elsewhere they are plain servers like any other (only
	// a server the operator lists with nts is refused there).
	if canNTS(a.Backend) {
		if n := catalogNTS(found.Candidates, a.Scoring.Authentication); n > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("nts: %d catalog server(s) known to offer NTS are checked and used with it "+
				"(selection.authentication = %s)", n, cmp.Or(a.Scoring.Authentication, scoring.AuthPrefer)))
		}
	}
	rep.Notes = append(rep.Notes, found.Notes...)
	for _, w := range found.WarningText() {
		rep.warn(w)
	}
	return sources, found, nil
}

// measure probes the candidates the daemon does not measure itself (and
// that are not blacklisted), and the daemon's sources it has not heard in
// any poll it counts (see unheard), then scores everything and decides the
// set.
// The candidates listed with nts that the daemon does not have are
// pre-flighted (NTSChecker) instead of probed: their measurement comes
// from the authenticated exchange, and one that fails is rejected with its
// reason (see preflight). A run in which nothing answered is an outage
// (ErrOutage): the evaluation is returned for the report, but its state
// must not be kept.
//
// With an Auditioner (au), the plain candidates' new addresses are
// auditioned inside the daemon instead of probed (see audition); their
// measurements are the daemon's.
func (a *Agent) measure(ctx context.Context, sources []daemon.Source, cands []discovery.Candidate, st *State,
	now time.Time, au Auditioner, runID string, log zerolog.Logger) (Evaluation, error) {
	byDaemon, current := a.daemonView(sources, st)
	measured := map[netip.Addr]bool{}
	for i := range byDaemon {
		if !unheard(&byDaemon[i]) { // the daemon's silence is checked by a probe
			measured[byDaemon[i].Address] = true
		}
	}
	has := map[netip.Addr]bool{} // the daemon's sources
	for _, d := range sources {
		if d.Address.IsValid() && !d.Refclock {
			has[d.Address] = true
		}
	}
	skip := func(ap netip.AddrPort) string {
		if measured[ap.Addr()] {
			return "measured by " + a.Backend.Name()
		}
		if e, ok := st.Scoring.Blacklisted(ap.Addr(), now); ok {
			return fmt.Sprintf("blacklisted until %s (%s)", e.Until.UTC().Format(time.RFC3339), e.Reason)
		}
		return ""
	}
	plain, nts := splitNTS(cands)
	var probes []prober.Result
	if len(nts) > 0 {
		// Resolved and held back, except the daemon's own sources: those
		// are probed as before (the daemon keeps their nts).
		held := func(ap netip.AddrPort) string {
			if why := skip(ap); why != "" || has[ap.Addr()] {
				return why
			}
			return ntsHeld
		}
		var err error
		if probes, err = a.Prober.Probe(ctx, Targets(nts), prober.RunOptions{Skip: held, Log: &log}); err != nil {
			return Evaluation{}, fmt.Errorf("measuring servers: %w", err)
		}
	}
	shared := map[netip.Addr]int{}
	for i, r := range probes {
		if r.Address.IsValid() {
			shared[r.Address] = i
		}
	}
	rest, err := a.Prober.Probe(ctx, Targets(plain), prober.RunOptions{Log: &log, Skip: func(ap netip.AddrPort) string {
		if _, ok := shared[ap.Addr()]; ok {
			return ntsShared
		}
		why := skip(ap)
		switch {
		case why != "" || au == nil:
		case has[ap.Addr()]:
			why = probeBeside
		default:
			why = auditionHeld
		}
		return why
	}})
	if err != nil {
		return Evaluation{}, fmt.Errorf("measuring servers: %w", err)
	}
	for _, r := range rest {
		if i, ok := shared[r.Address]; ok && r.Skipped == ntsShared {
			probes[i].Aliases = append(probes[i].Aliases, append([]string{r.Server}, r.Aliases...)...)
			continue
		}
		probes = append(probes, r)
	}
	var auditionNotes []string
	if au != nil {
		var auditioned []scoring.Measurement
		auditioned, auditionNotes, err = a.audition(ctx, au, probes, cands, st, now, runID, log)
		if err != nil {
			return Evaluation{}, err
		}
		byDaemon = append(byDaemon, auditioned...)
	}
	checks, warnings := a.preflight(ctx, probes, candidateIndex(cands), log)
	ev, err := Evaluate(EvalInput{Probes: probes, Daemon: byDaemon, Candidates: cands, Current: current,
		Sources: sources, LastOutage: st.LastOutage, NTS: checks}, st.Scoring, now, a.Scoring)
	if err != nil {
		return Evaluation{}, err
	}
	ev.Warnings = warnings
	ev.Notes = append(ev.Notes, auditionNotes...)
	if n := keyExchanges(checks); n > 0 {
		ev.Notes = append(ev.Notes, fmt.Sprintf("nts: pre-flighted %d address(es) with %d key exchange(s)", len(checks), n))
	}
	if why := outage(probes, checks, sources, a.Backend.Name()); why != "" {
		return ev, fmt.Errorf("%w: %s", ErrOutage, why)
	}
	return ev, nil
}

// decide turns the evaluation into the run's report and the change the
// backend is asked for.
func (a *Agent) decide(rep *Report, ev Evaluation, sources []daemon.Source, st *State, cands []discovery.Candidate) daemon.Plan {
	dec := ev.Decision
	rep.Candidates = ev.Reports
	rep.Relaxed = dec.Relaxed
	rep.Notes = append(rep.Notes, ev.Notes...)
	rep.Notes = append(rep.Notes, dec.Notes...)
	for _, w := range ev.Warnings {
		rep.warn(w)
	}
	for _, addr := range dec.Selected {
		rep.Selected = append(rep.Selected, addr.String())
	}
	plan, kept := a.plan(dec, sources, st, cands)
	for i := range rep.Candidates {
		c := &rep.Candidates[i]
		if why, ok := kept[c.Address]; ok && c.Address.IsValid() {
			c.Verdict, c.Reason = scoring.Selected, why
			rep.Selected = append(rep.Selected, c.Address.String())
		}
	}
	if len(kept) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("kept %d source(s) the decision would have removed: "+
			"the daemon would have been left with fewer working sources than before", len(kept)))
	}
	rep.Added, rep.Removed = planChanges(plan, dec)
	return plan
}

// apply asks the backend for the change and records what it did in rep
// and st. A plan that changes nothing still goes to the backend, which
// persists the set (e.g. a sources file missing after a manual edit)
// without changing anything live. Once the outcome is known the
// write-ahead record of additions is cleared — except when the backend
// may have left some of them behind (an error, or a rollback that failed):
// the next run adopts those the daemon still has.
//
//   - daemon.ErrNotPersisted: the change is live (its additions are managed
//     sources now) but the daemon loses it at a restart: OutcomeNotPersisted,
//     a failed run;
//   - daemon.ErrRollbackFailed: OutcomeFailed, not rolled back, and the
//     reason says what could not be undone.
func (a *Agent) apply(ctx context.Context, rep *Report, st *State, plan daemon.Plan, log zerolog.Logger) error {
	unchanged := len(plan.Add)+len(plan.Remove) == 0
	if !unchanged {
		log.Info().Int("add", len(plan.Add)).Int("remove", len(plan.Remove)).Msg("changing the sources")
	}
	applied, err := a.Backend.Apply(ctx, plan)
	for _, w := range applied.Warnings {
		rep.warn(w)
	}
	switch {
	case errors.Is(err, daemon.ErrRollbackFailed):
		rep.Outcome = OutcomeFailed
		rep.Added, rep.Removed = []scoring.Change{}, []scoring.Change{}
		var re *daemon.RollbackError
		if errors.As(err, &re) {
			err = fmt.Errorf("%w: the change failed (%v) and could not be undone: %s; %s may still have sources this run added "+
				"or lack ones it removed (the next run starts from the sources it has)",
				daemon.ErrRollbackFailed, re.Why, oneLine(re.Left), a.Backend.Name())
		}
		return err
	case errors.Is(err, daemon.ErrNotPersisted):
		rep.Outcome = OutcomeNotPersisted
		rep.Changed = len(applied.Added)+len(applied.Removed) > 0
	case unchanged:
		rep.Outcome = OutcomeUnchanged
		if err != nil {
			return err
		}
	case applied.RolledBack:
		rep.Outcome, rep.RolledBack = OutcomeRolledBack, true
		rep.Added, rep.Removed = []scoring.Change{}, []scoring.Change{}
		st.Pending = nil
		if err == nil {
			err = fmt.Errorf("%w: %s", daemon.ErrRolledBack, applied.Reason)
		}
		return err
	case err != nil:
		return err
	default:
		rep.Outcome, rep.Changed = OutcomeApplied, true
	}
	a.manage(rep, st, applied)
	st.Pending = nil
	return err
}

// discoverySources are the daemon's sources as discovery candidates: by
// address, so the members of one pool stay separate candidates.
func discoverySources(ds []daemon.Source) []discovery.Source {
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
// agent added under add-only; never the members of the daemon's own pools
// (the daemon replaces them itself).
func (a *Agent) daemonView(ds []daemon.Source, st *State) ([]scoring.Measurement, map[netip.Addr]bool) {
	var ms []scoring.Measurement
	current := map[netip.Addr]bool{}
	for _, d := range ds {
		if !d.Address.IsValid() || d.Refclock {
			continue
		}
		_, managed := st.Managed[d.Address.String()]
		if (a.Policy == daemon.PolicyConverge || managed) && d.Pool == "" {
			current[d.Address] = true
		}
		if d.Measurement != nil {
			ms = append(ms, *d.Measurement)
		}
	}
	return ms, current
}
