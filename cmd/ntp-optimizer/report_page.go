package main

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// reportInput is what the report is made from: the stored runs of the
// window, oldest first, the last decision and the state.
type reportInput struct {
	Now       time.Time
	Since     time.Duration
	SinceText string
	StateDir  string
	Runs      []agent.Report
	Decision  *agent.Report // nil: no run recorded
	State     *agent.State
}

// reportPage is everything the template shows, formatted: the page is a
// function of the input alone, so the same history gives the same bytes.
type reportPage struct {
	Generated string
	Since     string
	StateDir  string
	From, To  string
	Runs      int
	Outages   int
	Counters  agent.Counters
	Decision  *decisionView
	Charts    []chart
	Timeline  *timeline
	Changes   []changeRow
	Blacklist []blacklistRow
	Failures  []failureRow
}

// decisionView is the last decision: its set and every candidate.
type decisionView struct {
	RunID, Time, Outcome, Reason string
	// Effective says the set is the one in use (the run applied it or
	// found it in place); otherwise it is what the run decided.
	Effective bool
	Set       []string
	// InUse is the set of the latest run in the window that applied one
	// or found it in place, when the decision's set is not in use.
	InUse      []string
	Candidates []candidateRow
}

type candidateRow struct {
	Server, Address, Verdict, Score, Offset, Jitter, Auth, Reason, Colour string
}

type changeRow struct {
	Time, RunID, Outcome, Note string
	Items                      []changeItem
}

type changeItem struct {
	Sign, Server, Address, Reason string
}

type blacklistRow struct {
	Address, Server, Kind, Since, Until, State, Reason string
	Count                                              int
	Evidence                                           []string
}

type failureRow struct {
	Address  string
	Runs     int
	Evidence []string
}

// reportTime is the report's time format, UTC.
func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// effectiveOutcome says the run's Selected is the set in use after it.
func effectiveOutcome(o agent.Outcome) bool {
	return o == agent.OutcomeApplied || o == agent.OutcomeUnchanged || o == agent.OutcomeNotPersisted
}

// serverLabel is "name (address)", or the address alone.
func serverLabel(name string, addr netip.Addr) string {
	if name == "" || name == addr.String() {
		return addr.String()
	}
	return name + " (" + addr.String() + ")"
}

func buildReport(in reportInput) *reportPage {
	p := &reportPage{Generated: reportTime(in.Now), Since: in.SinceText, StateDir: in.StateDir, Runs: len(in.Runs)}
	if in.State != nil {
		p.Counters = in.State.Counters
	}
	outages := outageRuns(in.Runs)
	p.Outages = len(outages)
	trends := agent.Trends(in.Runs, "")
	if len(outages) > 0 {
		trends = orderedWithout(trends, in.Runs, outages, "")
	}
	colours := seriesColours(trends)
	if len(in.Runs) > 0 {
		// The axis runs to now: the set after the latest run is still
		// the set, as far as the history knows.
		end := in.Runs[len(in.Runs)-1].Time
		if in.Now.After(end) {
			end = in.Now
		}
		x := newTimeAxis(in.Runs[0].Time, end)
		p.From, p.To = reportTime(x.from), reportTime(x.to)
		p.Charts = buildCharts(trends, outages, colours, x)
		p.Timeline = buildTimeline(in.Runs, trends, colours, x)
	}
	p.Decision = buildDecision(in.Decision, colours)
	if d := p.Decision; d != nil && !d.Effective && len(in.Runs) > 0 {
		sets := laneSets(in.Runs)
		d.InUse = labels(sets[len(sets)-1], in.Decision)
	}
	p.Changes = buildChanges(in.Runs)
	if in.State != nil {
		p.Blacklist, p.Failures = buildBlacklist(&in.State.Scoring, in.Now)
	}
	return p
}

func buildDecision(r *agent.Report, colours map[netip.Addr]seriesStyle) *decisionView {
	if r == nil {
		return nil
	}
	d := &decisionView{RunID: r.RunID, Time: reportTime(r.Time), Outcome: string(r.Outcome), Reason: r.Reason,
		Effective: effectiveOutcome(r.Outcome)}
	for _, c := range r.Candidates {
		if !c.Address.IsValid() {
			continue
		}
		row := candidateRow{Server: c.Name, Address: c.Address.String(), Verdict: string(c.Verdict),
			Score: "-", Offset: "-", Jitter: "-", Reason: c.Reason, Colour: colours[c.Address].Colour, Auth: c.Auth}
		if c.Reason == "" && c.Error != "" {
			row.Reason = c.Error
		}
		if c.SamplesOK > 0 {
			row.Score = fmt.Sprintf("%.1f", c.Score)
			row.Offset = fmt.Sprintf("%+.3f", c.Offset*1e3)
		}
		if c.SamplesOK > 1 {
			row.Jitter = fmt.Sprintf("%.3f", c.Jitter*1e3)
		}
		d.Candidates = append(d.Candidates, row)
	}
	d.Set = labels(r.Selected, r)
	return d
}

// labels names a set's addresses as the run's candidates name them.
func labels(set []string, r *agent.Report) []string {
	names := map[string]string{}
	for _, c := range r.Candidates {
		names[c.Address.String()] = c.Name
	}
	out := make([]string, 0, len(set))
	for _, a := range set {
		label := a
		if ip, err := netip.ParseAddr(a); err == nil {
			label = serverLabel(names[a], ip)
		}
		out = append(out, label)
	}
	return out
}

// buildChanges lists the runs that changed the set (or decided to, in a
// dry run) and those that rolled back or failed, newest first.
func buildChanges(runs []agent.Report) []changeRow {
	var out []changeRow
	for _, r := range slices.Backward(runs) {
		failed := r.Outcome == agent.OutcomeRolledBack || r.Outcome == agent.OutcomeFailed ||
			r.Outcome == agent.OutcomeNotPersisted
		if len(r.Added)+len(r.Removed) == 0 && !failed {
			continue
		}
		row := changeRow{Time: reportTime(r.Time), RunID: r.RunID, Outcome: string(r.Outcome), Note: r.Reason}
		if r.Outcome == agent.OutcomeDryRun {
			row.Note = "dry run: nothing was changed"
		}
		add := func(sign string, cs []scoring.Change) {
			for _, c := range cs {
				row.Items = append(row.Items, changeItem{Sign: sign, Server: c.Server, Address: c.Address.String(), Reason: c.Reason})
			}
		}
		add("+", r.Added)
		add("−", r.Removed)
		out = append(out, row)
	}
	return out
}

func buildBlacklist(st *scoring.State, now time.Time) ([]blacklistRow, []failureRow) {
	v := agent.Blacklist(st, now, true)
	var bl []blacklistRow
	for _, e := range v.Entries {
		state := "active"
		switch {
		case !e.Active && !e.Lifted.IsZero():
			state = "lifted " + reportTime(e.Lifted)
		case !e.Active:
			state = "expired"
		}
		kind := e.Kind
		if kind == "" {
			kind = "-"
		}
		bl = append(bl, blacklistRow{Address: e.Address.String(), Server: e.Name, Kind: kind, Since: reportTime(e.Since),
			Until: reportTime(e.Until), State: state, Reason: e.Reason, Count: e.Count, Evidence: e.Evidence})
	}
	var fl []failureRow
	for _, f := range v.Failures {
		fl = append(fl, failureRow{Address: f.Address.String(), Runs: f.Runs, Evidence: f.Evidence})
	}
	return bl, fl
}

// outcomeClass is a run's CSS class on the timeline.
func outcomeClass(o agent.Outcome) string { return "run-" + string(o) }
