package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/metrics"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// afterRun returns the agent's end-of-run hook: e-mail and webhook
// notifications (throttled; their state lives in state.json) and the
// Prometheus textfile. A failure in either is a warning, never a failed run.
func afterRun(l *config.Loaded, log zerolog.Logger) func(context.Context, *agent.Report, *agent.State) []string {
	cfg := &l.Config
	return func(ctx context.Context, r *agent.Report, st *agent.State) []string {
		var warnings []string
		if nc := cfg.Notify(); nc.Email.Enabled || nc.Webhook.Enabled {
			if err := sendNotifications(ctx, l, nc, r, st, log); err != nil {
				warnings = append(warnings, "notification: "+err.Error())
			}
		}
		if path := cfg.Paths.MetricsFile; path != "" {
			if err := metrics.WriteFile(path, metricsRun(r, st)); err != nil {
				warnings = append(warnings, "metrics: "+err.Error())
			}
		}
		return warnings
	}
}

func sendNotifications(ctx context.Context, l *config.Loaded, nc notify.Config, r *agent.Report, st *agent.State, log zerolog.Logger) error {
	n, err := notify.New(nc, notify.Options{
		Password: notify.PasswordSource{ConfigFile: l.File, ConfigMode: l.FileMode},
		Log:      log,
	})
	if n == nil {
		return err
	}
	var prev notify.State
	if len(st.Notify) > 0 {
		if jerr := json.Unmarshal(st.Notify, &prev); jerr != nil {
			log.Warn().Err(jerr).Msg("notification state does not parse; starting afresh")
		}
	}
	// Bounded: a slow mail server must not hold up the next timer run.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	next, serr := n.Notify(ctx, prev, notifyOutcome(r))
	if b, jerr := json.Marshal(next); jerr == nil {
		st.Notify = b
	}
	return errors.Join(err, serr)
}

// notifyOutcome is the report as the notifier sees it.
func notifyOutcome(r *agent.Report) notify.Outcome {
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
		Added: servers(r.Added), Removed: servers(r.Removed), Summary: summaryLine(r)}
	for _, a := range r.Selected {
		o.Selected = append(o.Selected, notify.Server{Name: a, Address: a, Score: scores[a]})
	}
	switch r.Outcome {
	case agent.OutcomeFailed:
		o.Failure = &notify.Failure{Kind: notify.ErrorFailed, Err: errors.New(r.Reason)}
	case agent.OutcomeRolledBack:
		o.Failure = &notify.Failure{Kind: notify.ErrorRolledBack, Err: errors.New(r.Reason)}
	case agent.OutcomeNoUsable:
		o.Failure = &notify.Failure{Kind: notify.ErrorNoUsable, Err: errors.New(r.Reason)}
	}
	if o.Failure != nil {
		o.Added, o.Removed = nil, nil
	}
	return o
}

// metricsRun is the report as Prometheus metrics.
func metricsRun(r *agent.Report, st *agent.State) metrics.Run {
	selected := map[string]bool{}
	for _, a := range r.Selected {
		selected[a] = true
	}
	run := metrics.Run{
		Duration:    time.Duration(r.Duration * float64(time.Second)),
		Success:     r.Outcome == agent.OutcomeApplied || r.Outcome == agent.OutcomeUnchanged,
		Time:        r.Time,
		LastSuccess: st.LastSuccess,
		Totals:      metrics.Totals{Changes: uint64(st.Counters.Changes), Rollbacks: uint64(st.Counters.Rollbacks)},
	}
	for _, c := range r.Candidates {
		if !c.Address.IsValid() || c.SamplesOK == 0 {
			continue
		}
		run.Servers = append(run.Servers, metrics.Server{Name: c.Name, Address: c.Address.String(), Score: c.Score,
			Offset: c.Offset, Delay: c.Delay, Jitter: c.Jitter, Reach: c.ReachRatio, Stratum: c.Stratum,
			Selected: selected[c.Address.String()]})
	}
	return run
}
