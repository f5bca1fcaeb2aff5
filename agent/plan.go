package agent

import (
	"net/netip"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// plan turns a decision into the change the backend makes: add what is
// selected and missing; remove, under converge, every NTP source outside
// the set (reference clocks and pinned servers stay), or under add-only
// only the sources the agent itself added.
func (a *Agent) plan(dec scoring.Decision, sources []daemon.Source, st *State, cands []discovery.Candidate) daemon.Plan {
	p := daemon.Plan{Policy: a.Policy}
	byAddr := map[netip.Addr]scoring.Candidate{}
	for _, c := range dec.Candidates {
		byAddr[c.Address] = c
	}
	selected := map[netip.Addr]bool{}
	present := map[netip.Addr]bool{}
	for _, d := range sources {
		if d.Address.IsValid() {
			present[d.Address] = true
		}
	}
	for _, addr := range dec.Selected {
		c := byAddr[addr]
		s := daemon.Server{Address: addr, Port: c.Port, Name: c.Name}
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
		if d.Refclock || selected[d.Address] || pinned[strings.ToLower(d.Name)] {
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
