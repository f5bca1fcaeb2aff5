package scoring

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Input is what one run measured. Every address appears once: the agent
// merges a probe and chronyd's view of the same address before calling.
// Current and pinned servers are flagged on their measurements.
type Input struct {
	Measurements []Measurement `json:"measurements"`
	// Recovering says the daemon's reach registers still cover a recent
	// outage of this machine's network: the hysteresis counters (streaks,
	// trends) are neither advanced nor reset, so the outage cannot make a
	// member lose; hard failures still act.
	Recovering bool `json:"recovering,omitempty"`
}

// Change is one address entering or leaving the set.
type Change struct {
	Address netip.Addr `json:"address"`
	Server  string     `json:"server"`
	Reason  string     `json:"reason"`
}

// Decision is the outcome of one run, explained.
type Decision struct {
	Time time.Time `json:"time"`
	// Candidates are in rank order, each with its verdict and reason.
	Candidates []Candidate  `json:"candidates"`
	Selected   []netip.Addr `json:"selected"` // the set, in rank order
	Added      []Change     `json:"added"`    // selected, not current
	Removed    []Change     `json:"removed"`  // current, not selected
	Changed    bool         `json:"changed"`
	Majority   Majority     `json:"majority"`
	Smearing   bool         `json:"smearing"`          // the set's class
	Relaxed    []string     `json:"relaxed,omitempty"` // diversity rules relaxed: prefix, refid, operator
	Notes      []string     `json:"notes,omitempty"`
}

// ErrInput is wrapped by Decide's errors about its input.
var ErrInput = errors.New("invalid scoring input")

// Decide scores every measurement, applies the hard filters and the
// intersection, selects the set with diversity and hysteresis against the
// current members, and updates the blacklist. It reads no clock: now is
// the run's time. st is not modified; the returned State replaces it.
// The result does not depend on the order of in.Measurements.
//
// It fails only on an invalid cfg or input (a zero or duplicate address);
// implausible numbers in one measurement reject that candidate instead.
func Decide(in Input, st State, now time.Time, cfg Config) (Decision, State, error) {
	if err := cfg.Validate(); err != nil {
		return Decision{}, st, err
	}
	store := make([]Candidate, len(in.Measurements))
	cands := make([]*Candidate, len(in.Measurements))
	for i, m := range in.Measurements {
		if !m.Address.IsValid() {
			return Decision{}, st, fmt.Errorf("%w: measurement %d (%q) has no address", ErrInput, i, m.Name)
		}
		store[i].Measurement = m
		cands[i] = &store[i]
	}
	// A canonical order first: everything after depends on it alone.
	slices.SortFunc(cands, func(a, b *Candidate) int { return a.Address.Compare(b.Address) })
	for i := 1; i < len(cands); i++ {
		if cands[i].Address == cands[i-1].Address {
			return Decision{}, st, fmt.Errorf("%w: address %s appears twice (%q and %q)",
				ErrInput, cands[i].Address, cands[i-1].Name, cands[i].Name)
		}
	}

	next := st.clone()
	seen := make(map[netip.Addr]bool, len(cands))
	tallies := Tallies(in.Measurements)
	var ivs []Interval
	var wits []*Candidate
	var notes []string
	for _, c := range cands {
		seen[c.Address] = true
		if n := next.record(&c.Measurement, tallies[c.Origin], now, &cfg); n != "" {
			notes = append(notes, fmt.Sprintf("%s (%s): %s", c.Address, c.Name, n))
		}
		c.build(&next, now, &cfg)
		if c.Current && !c.Pinned && !in.Recovering {
			next.trend(c)
		}
		if c.witness {
			ivs = append(ivs, c.Interval)
			wits = append(wits, c)
		}
	}
	maj := majority(ivs)
	for _, c := range cands {
		c.markFalseticker(maj)
	}
	// Without a majority, nothing is added that the largest agreeing
	// group around the current sources does not corroborate.
	var groupNote string
	maj.Group, groupNote = corroborate(wits, maj)

	slices.SortFunc(cands, rankOrder) // a total order: no stability needed
	for i, c := range cands {
		c.Rank = i + 1
	}
	sel := selector{cfg: &cfg, st: &next, cands: cands, notes: notes, frozen: in.Recovering}
	if in.Recovering {
		sel.notes = append(sel.notes, "recovering from an outage: chronyd's reach registers still show it, "+
			"so no member loses a run to a challenger until they have cleared it")
	}
	for o, t := range tallies {
		if t.Measured > 0 && !t.Counts() {
			sel.notes = append(sel.notes, fmt.Sprintf("only %d of %d servers measured by %s answered: "+
				"their silence is not counted against them (the evidence is about this machine)", t.Answered, t.Measured, o))
		}
	}
	slices.Sort(sel.notes[len(notes):])
	if groupNote != "" {
		sel.notes = append(sel.notes, groupNote)
	}
	sel.run()

	next.prune(seen, now, &cfg)
	out := make([]Candidate, len(cands))
	for i, c := range cands {
		out[i] = *c
		if in.Recovering {
			continue // the counters stay as they were
		}
		if c.Verdict != Selected {
			delete(next.Streaks, c.Address) // a streak belongs to a member
		}
		if !c.Current || c.Pinned {
			delete(next.Trends, c.Address) // and so does a trend
		}
	}
	return newDecision(out, &sel, maj, now), next, nil
}

// rankOrder puts candidates passing every hard filter first, then by
// score, best first; equal scores go by address, so ties break the same
// way on every run.
func rankOrder(a, b *Candidate) int {
	if a.healthy() != b.healthy() {
		if a.healthy() {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	return a.Address.Compare(b.Address)
}

func newDecision(cands []Candidate, sel *selector, maj Majority, now time.Time) Decision {
	d := Decision{
		Time:       now,
		Candidates: cands,
		Selected:   []netip.Addr{},
		Added:      []Change{},
		Removed:    []Change{},
		Majority:   maj,
		Smearing:   sel.smearing,
		Notes:      sel.notes,
	}
	for i := range cands {
		c := &cands[i]
		switch {
		case c.Verdict == Selected:
			d.Selected = append(d.Selected, c.Address)
			if !c.Current {
				d.Added = append(d.Added, Change{Address: c.Address, Server: c.Name, Reason: c.Reason})
			}
		case c.Current:
			d.Removed = append(d.Removed, Change{Address: c.Address, Server: c.Name, Reason: c.Reason})
		}
	}
	for l := levelNoPrefix; l <= levelNoOperator; l++ {
		if sel.relaxed[l] {
			d.Relaxed = append(d.Relaxed, relaxedRule[l])
		}
	}
	d.Changed = len(d.Added) > 0 || len(d.Removed) > 0
	return d
}
