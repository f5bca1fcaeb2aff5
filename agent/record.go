package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/metrics"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// notifyTimeout bounds the notifications of one run: a slow mail server
// must not hold up the next timer run.
const notifyTimeout = time.Minute

// record is the last stage of every run that is not a dry run, failed runs
// included: the counters and the last run's summary, the notifications
// (their throttle state kept in st), the metrics, and then the state and
// the run's history. A notification or metrics failure is a warning, never
// a failed run; a state that cannot be saved is ErrStateNotSaved.
// stateErr is the state directory's problem found at the start, if any.
func (a *Agent) record(ctx context.Context, rep *Report, st *State, stateErr error, log zerolog.Logger) error {
	st.Counters.Runs++
	switch rep.Outcome {
	case OutcomeApplied:
		st.Counters.Changes++
	case OutcomeRolledBack:
		st.Counters.Rollbacks++
	case OutcomeFailed:
		st.Counters.Failures++
	case OutcomeNotPersisted:
		st.Counters.Failures++
		if rep.Changed {
			st.Counters.Changes++
		}
	case OutcomeOutage:
		st.Counters.Outages++
		st.LastOutage = rep.Time
	}
	if rep.Succeeded() {
		st.LastSuccess = rep.Time
	}
	st.LastRun = rep.summary()
	if a.Notifier != nil {
		nctx, cancel := context.WithTimeout(ctx, notifyTimeout)
		next, err := a.Notifier.Notify(nctx, st.Notify, notifyOutcome(rep))
		cancel()
		st.Notify = next
		if err != nil {
			rep.warn("notification: " + err.Error())
		}
	}
	if a.Metrics != nil {
		if err := a.Metrics.Write(metricsRun(rep, st, a.Scoring)); err != nil {
			rep.warn("metrics: " + err.Error())
		}
	}
	if stateErr == nil {
		stateErr = errors.Join(a.Store.SaveState(*st), a.Store.SaveRun(rep))
		if err := a.Store.subdirOK(historyDir); err != nil {
			stateErr = errors.Join(stateErr, err) // never prune through a planted link
		} else {
			stateErr = errors.Join(stateErr, a.Store.PruneHistory(a.HistoryRetention))
		}
	}
	if stateErr != nil {
		rep.warn("state not saved: " + stateErr.Error())
		log.Error().Err(stateErr).Msg("could not save the state; the next run starts without this one's history")
		return fmt.Errorf("%w: %w", ErrStateNotSaved, stateErr)
	}
	return nil
}

// notifyOutcome is the report as the notifier sees it.
func notifyOutcome(r *Report) notify.Outcome {
	scores := map[string]float64{}
	for _, c := range r.Candidates {
		if c.Address.IsValid() {
			scores[c.Address.String()] = c.Score
		}
	}
	servers := func(cs []scoring.Change) []notify.Server {
		var out []notify.Server
		for _, c := range cs {
			a := c.Address.String()
			out = append(out, notify.Server{Name: c.Server, Address: a, Score: scores[a], Reason: c.Reason})
		}
		return out
	}
	o := notify.Outcome{RunID: r.RunID, Time: r.Time.Add(time.Duration(r.Duration * float64(time.Second))),
		Added: servers(r.Added), Removed: servers(r.Removed), Summary: r.Summary()}
	for _, a := range r.Selected {
		o.Selected = append(o.Selected, notify.Server{Name: a, Address: a, Score: scores[a]})
	}
	kinds := map[Outcome]notify.ErrorKind{OutcomeFailed: notify.ErrorFailed, OutcomeRolledBack: notify.ErrorRolledBack,
		OutcomeNoUsable: notify.ErrorNoUsable, OutcomeOutage: notify.ErrorOutage, OutcomeNotPersisted: notify.ErrorFailed}
	if kind, failed := kinds[r.Outcome]; failed {
		o.Failure = &notify.Failure{Kind: kind, Err: errors.New(r.Reason)}
		o.Added, o.Removed = nil, nil
	}
	return o
}

// metricsRun is the report as Prometheus metrics: every candidate address
// of the run, answered or not (a silent one with up 0, reach 0 and no
// offset), with its verdict and the class of its failures; the set's size
// only when the report's set is the daemon's after the run.
func metricsRun(r *Report, st *State, cfg scoring.Config) metrics.Run {
	selected := map[string]bool{}
	for _, a := range r.Selected {
		selected[a] = true
	}
	run := metrics.Run{
		SetKnown: r.Outcome == OutcomeApplied || r.Outcome == OutcomeUnchanged || r.Outcome == OutcomeOutage ||
			r.Outcome == OutcomeNotPersisted,
		SetSize:     cfg.SetSize,
		MinSetSize:  cfg.MinSetSize,
		Duration:    time.Duration(r.Duration * float64(time.Second)),
		Success:     r.Succeeded(),
		Outage:      r.Outcome == OutcomeOutage,
		RolledBack:  r.Outcome == OutcomeRolledBack,
		Time:        r.Time,
		LastSuccess: st.LastSuccess,
		Totals: metrics.Totals{Changes: uint64(st.Counters.Changes), Rollbacks: uint64(st.Counters.Rollbacks),
			Outages: uint64(st.Counters.Outages)},
	}
	for _, c := range r.Candidates {
		if !c.Address.IsValid() {
			continue
		}
		s := metrics.Server{Name: c.Name, Address: c.Address.String(), Up: c.SamplesOK > 0, Score: c.Score,
			Offset: c.Offset, Delay: c.Delay, Jitter: c.Jitter, Reach: c.ReachRatio, Stratum: c.Stratum,
			Selected: selected[c.Address.String()], NTS: c.Auth == scoring.AuthNTS, Verdict: string(c.Verdict),
			ReasonClass: metrics.ReasonClass(c.Failed, c.Verdict == scoring.Rejected, c.Reason)}
		// Not measured, as the report's JSON has null (CandidateReport).
		if c.SamplesOK == 0 {
			s.Offset, s.Delay = math.NaN(), math.NaN()
		}
		if c.SamplesOK < 2 {
			s.Jitter = math.NaN()
		}
		run.Servers = append(run.Servers, s)
	}
	return run
}
