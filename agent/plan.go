package agent

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// plan turns a decision into the change the backend makes: add what is
// selected and missing; remove, under converge, every NTP source outside
// the set (reference clocks, pinned servers and the members of the
// daemon's own pools stay), or under add-only only the sources the agent
// itself added. Then the safety net (see guard) may keep some of the
// removals; kept says which, and why.
func (a *Agent) plan(dec scoring.Decision, sources []daemon.Source, st *State, cands []discovery.Candidate) (
	p daemon.Plan, kept map[netip.Addr]string) {
	p = a.wanted(dec, sources, st, cands)
	kept = a.guard(&p, dec, sources)
	return p, kept
}

// wanted is the change the decision asks for.
func (a *Agent) wanted(dec scoring.Decision, sources []daemon.Source, st *State, cands []discovery.Candidate) daemon.Plan {
	p := daemon.Plan{Policy: a.Policy}
	byAddr := map[netip.Addr]scoring.Candidate{}
	for _, c := range dec.Candidates {
		byAddr[c.Address] = c
	}
	selected := map[netip.Addr]bool{}
	present := map[netip.Addr]bool{}
	nts := map[netip.Addr]bool{} // the daemon's sources configured with NTS
	ntsOpts := map[netip.Addr]string{}
	for _, d := range sources {
		if d.Address.IsValid() {
			present[d.Address] = true
			nts[d.Address] = nts[d.Address] || d.NTS
			ntsOpts[d.Address] = cmp.Or(ntsOpts[d.Address], d.NTSOptions)
		}
	}
	for _, addr := range dec.Selected {
		c := byAddr[addr]
		// A server listed with nts is added with it; a source the daemon
		// has keeps the daemon's authentication, with nts or without.
		s := daemon.Server{Address: addr, Port: c.Port, Name: c.Name, NTS: c.Auth == discovery.AuthNTS,
			NTSOptions: ntsOpts[addr]}
		if present[addr] {
			s.NTS = nts[addr]
		}
		p.Selected = append(p.Selected, s)
		selected[addr] = true
		if !present[addr] {
			p.Add = append(p.Add, s)
		}
	}
	pinned := map[string]bool{}
	for _, c := range cands {
		if c.Pinned {
			pinned[strings.ToLower(c.Name)] = true
		}
	}
	for _, d := range sources {
		if d.Refclock || d.Pool != "" || selected[d.Address] || pinned[strings.ToLower(d.Name)] {
			continue
		}
		if a.Policy == daemon.PolicyAddOnly {
			if _, managed := st.Managed[d.Address.String()]; !managed {
				continue
			}
		}
		p.Remove = append(p.Remove, d)
	}
	return p
}

// guard keeps the daemon from ending a run with fewer working sources
// than it started with: removals of working sources (reachable at the
// daemon, or answering the probe where the daemon does not say; not a
// falseticker, unsynchronised or sending kiss codes) may not outnumber the
// additions — which the backend verifies or rolls back — except to trim
// the set down to set_size. The removals that would break this are kept,
// the best-ranked first, and put back in the set.
func (a *Agent) guard(p *daemon.Plan, dec scoring.Decision, sources []daemon.Source) map[netip.Addr]string {
	byAddr := map[netip.Addr]*scoring.Candidate{}
	for i := range dec.Candidates {
		byAddr[dec.Candidates[i].Address] = &dec.Candidates[i]
	}
	working := func(d daemon.Source) bool {
		c := byAddr[d.Address]
		if d.Refclock || !d.Address.IsValid() {
			return false
		}
		if c != nil && (c.Falseticker || c.Unsynchronized || c.KoD != "" || c.Leap == 3) {
			return false
		}
		if d.HasReach {
			return d.Reachable()
		}
		return c != nil && c.SamplesOK > 0
	}
	before := 0
	for _, d := range sources {
		if working(d) && d.Pool == "" {
			before++
		}
	}
	allowed := len(p.Add) + max(0, before-a.Scoring.SetSize)
	var removing []daemon.Source
	for _, d := range p.Remove {
		if working(d) {
			removing = append(removing, d)
		}
	}
	if len(removing) <= allowed {
		return nil
	}
	rank := func(d daemon.Source) int {
		if c := byAddr[d.Address]; c != nil {
			return c.Rank
		}
		return len(dec.Candidates) + 1
	}
	slices.SortStableFunc(removing, func(x, y daemon.Source) int { return rank(x) - rank(y) })
	kept := map[netip.Addr]string{}
	for _, d := range removing[:len(removing)-allowed] {
		kept[d.Address] = fmt.Sprintf("kept: %s still reaches it, and removing it would leave fewer working sources "+
			"than the %d it had (%d added)", "the daemon", before, len(p.Add))
		p.Selected = append(p.Selected, daemon.Server{Address: d.Address, Port: d.Port, Name: d.Name, NTS: d.NTS, NTSOptions: d.NTSOptions})
	}
	p.Remove = slices.DeleteFunc(p.Remove, func(d daemon.Source) bool { _, k := kept[d.Address]; return k })
	return kept
}

// planChanges explains a plan with scoring's reasons.
func planChanges(p daemon.Plan, dec scoring.Decision) (added, removed []scoring.Change) {
	reasons := map[netip.Addr]string{}
	for _, c := range append(append([]scoring.Change(nil), dec.Added...), dec.Removed...) {
		reasons[c.Address] = c.Reason
	}
	added, removed = []scoring.Change{}, []scoring.Change{}
	for _, s := range p.Add {
		added = append(added, scoring.Change{Address: s.Address, Server: s.Name, Reason: reasons[s.Address]})
	}
	for _, d := range p.Remove {
		why := reasons[d.Address]
		switch {
		case !d.Address.IsValid() && d.ID != d.Name:
			why = "unresolved source " + d.Name + " (" + d.ID + "), not in the selected set"
		case !d.Address.IsValid():
			why = "not in the selected set (the name's addresses were candidates)"
		case why == "":
			why = "not in the selected set"
		}
		removed = append(removed, scoring.Change{Address: d.Address, Server: d.Name, Reason: why})
	}
	return added, removed
}
