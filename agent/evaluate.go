package agent

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// EvalInput is what one run measured.
type EvalInput struct {
	// Probes are direct measurements, one per address (skipped addresses
	// included, unmeasured).
	Probes []prober.Result
	// Daemon are the daemon's own measurements (chronyd's statistics); for
	// an address in both, the daemon's view is used.
	Daemon []scoring.Measurement
	// Candidates are what discovery knows about the names.
	Candidates []discovery.Candidate
	// Current are the members of the daemon's set as scoring should see
	// them (all its NTP sources, or under add-only the managed ones).
	Current map[netip.Addr]bool
	// Sources are the daemon's sources: their pools and reach registers.
	Sources []daemon.Source
	// LastOutage is when a run last ended in an outage (zero: never).
	LastOutage time.Time
	// NTS are the NTS pre-flights by address: a probe result of such an
	// address is the pre-flight's authenticated measurement, with auth
	// "nts" and, when it failed, the reason as its AuthError.
	NTS map[netip.Addr]NTSCheck
}

// Evaluation is a decision together with the per-candidate reports the
// table, --json and history show.
type Evaluation struct {
	Decision scoring.Decision
	State    scoring.State
	// Reports are in rank order; names that gave no address to measure
	// come last.
	Reports []CandidateReport
	// Notes and Warnings are the measure stage's for the report (the NTS
	// pre-flights' count, too few cookies).
	Notes, Warnings []string
}

// Evaluate scores what was measured and decides the set.
func Evaluate(in EvalInput, st scoring.State, now time.Time, cfg scoring.Config) (Evaluation, error) {
	cands := candidateIndex(in.Candidates)
	byAddr := map[netip.Addr]*prober.Result{}
	var unmeasured []CandidateReport
	for i := range in.Probes {
		r := &in.Probes[i]
		if !r.Address.IsValid() {
			unmeasured = append(unmeasured, unresolved(r))
			continue
		}
		byAddr[r.Address] = r
	}

	var ms []scoring.Measurement
	seen := map[netip.Addr]bool{}
	notes := map[netip.Addr]string{} // why a candidate's measurement is not what it seems
	for _, m := range in.Daemon {
		if r := byAddr[m.Address]; r != nil && unheard(&m) && r.SamplesSent > 0 {
			pm, note := heardByProbe(&m, r, candidateOf(r, cands))
			if note != "" {
				notes[m.Address] = note
			}
			if pm != nil {
				ms = append(ms, *pm)
				seen[m.Address] = true
				continue
			}
		}
		if r := byAddr[m.Address]; r != nil {
			if c := candidateOf(r, cands); c != nil {
				describe(&m, c)
				if m.Name == "" || m.Name == m.Address.String() {
					m.Name = c.Name
				}
			}
		}
		ms = append(ms, m)
		seen[m.Address] = true
	}
	for i := range in.Probes {
		r := &in.Probes[i]
		if !r.Address.IsValid() || seen[r.Address] {
			continue
		}
		m := fromProbe(r, candidateOf(r, cands))
		if chk, ok := in.NTS[r.Address]; ok {
			m.Auth, m.AuthError = discovery.AuthNTS, chk.AuthError
		}
		ms = append(ms, m)
		seen[r.Address] = true
	}
	byDaemon := map[netip.Addr]daemon.Source{}
	for _, d := range in.Sources {
		if d.Address.IsValid() {
			byDaemon[d.Address] = d
		}
	}
	for i := range ms {
		m := &ms[i]
		m.Current = in.Current[m.Address]
		d, ok := byDaemon[m.Address]
		if !ok {
			continue
		}
		m.DaemonPool = d.Pool
		// The daemon says how it authenticates a source it has: a list or
		// the catalog naming it "nts" does not make a plain source NTS
		// (that would protect it as one and persist it with nts).
		m.Auth = ""
		if d.NTS {
			m.Auth = discovery.AuthNTS
		}
		// The daemon still reaches a source our probe could not (a
		// firewall that drops only our packets, a rate limit): the probe's
		// silence is no evidence against it, so it counts as not measured.
		if m.Origin == scoring.OriginProbe && m.SamplesSent > 0 && m.SamplesOK == 0 && m.KoD == "" && d.Reachable() {
			m.SamplesSent = 0
			notes[m.Address] = fmt.Sprintf("the probe got no reply, but the daemon reaches it (reach %03o)", d.Reach)
		}
	}

	dec, next, err := scoring.Decide(scoring.Input{Measurements: ms, Recovering: recovering(in.Sources, in.LastOutage, now)},
		st, now, cfg)
	if err != nil {
		return Evaluation{}, err
	}
	ev := Evaluation{Decision: dec, State: next}
	for _, c := range dec.Candidates {
		rep := CandidateReport{Candidate: c, Error: notes[c.Address]}
		if r := byAddr[c.Address]; r != nil && c.Origin == scoring.OriginProbe {
			if rep.Error == "" {
				rep.Error = r.Err
			}
			if r.Skipped != "" {
				rep.Error = "not measured: " + r.Skipped
			}
			rep.Samples = r.JSON().Samples
			if chk, ok := in.NTS[c.Address]; ok {
				rep.NTSCookies = chk.Cookies
				if chk.KE.IsValid() {
					rep.NTSKE = chk.KE.String()
				}
			}
		}
		ev.Reports = append(ev.Reports, rep)
	}
	for i := range unmeasured {
		unmeasured[i].Rank = len(ev.Reports) + 1
		ev.Reports = append(ev.Reports, unmeasured[i])
	}
	return ev, nil
}

// candidateOf finds what discovery knows about the names r came from; a
// pinned name wins, so `keep` holds even when another name shares the
// address.
func candidateOf(r *prober.Result, cands map[string]*discovery.Candidate) *discovery.Candidate {
	var found *discovery.Candidate
	for _, n := range append([]string{r.Server}, r.Aliases...) {
		c := cands[strings.ToLower(n)]
		if c == nil {
			continue
		}
		if found == nil || c.Pinned && !found.Pinned {
			found = c
		}
	}
	return found
}

// unresolved reports a name that gave no address to measure.
func unresolved(r *prober.Result) CandidateReport {
	reason := r.Err
	if reason == "" {
		reason = "no address"
	}
	return CandidateReport{
		Candidate: scoring.Candidate{
			Measurement: scoring.Measurement{Origin: scoring.OriginProbe, Name: r.Server, Port: r.Port},
			Verdict:     scoring.Rejected,
			Reason:      "not measured: " + reason,
		},
		Error: r.Err,
	}
}

// candidateIndex maps lower-cased candidate names to the candidates.
func candidateIndex(cs []discovery.Candidate) map[string]*discovery.Candidate {
	m := make(map[string]*discovery.Candidate, len(cs))
	for i := range cs {
		m[strings.ToLower(cs[i].Name)] = &cs[i]
	}
	return m
}

// recovering says the daemon's reach registers may still cover the last
// outage: it ended less than 8 polling intervals (of the slowest-polled
// source) ago.
func recovering(sources []daemon.Source, lastOutage, now time.Time) bool {
	if lastOutage.IsZero() {
		return false
	}
	span := time.Duration(0)
	for _, d := range sources {
		if d.HasReach {
			span = max(span, 8*time.Second<<max(min(d.Poll, 24), 0))
		}
	}
	return now.Sub(lastOutage) < span
}

// unheard says m is the daemon's measurement of a source it polled and
// never heard in the polls it counts: silence, which alone is a hard
// failure. The daemon's register may still hold polls of a network outage
// that has ended (it clears them only as it polls again, and a slowly
// polled source takes longest), so the agent asks the server itself.
func unheard(m *scoring.Measurement) bool {
	return m.Origin == scoring.OriginChronyd && m.SamplesSent > 0 && m.SamplesOK == 0 && m.KoD == ""
}

// heardByProbe joins the daemon's silence d with the probe r of the same
// address. When the probe was answered (or kissed), the server is not
// silent: the measurement is the probe's, with the daemon's unanswered
// polls added to its samples, so the silence costs reachability (and,
// should it last, the hysteresis replaces the source) but is no longer a
// hard failure. When the probe got no reply either, the silence stands as
// the daemon measured it (nil). note says which.
func heardByProbe(d *scoring.Measurement, r *prober.Result, cand *discovery.Candidate) (*scoring.Measurement, string) {
	if r.SamplesOK == 0 && r.KoD == "" {
		return nil, fmt.Sprintf("no reply to chronyd's last %d polls, nor to the probe's %d samples", d.SamplesSent, r.SamplesSent)
	}
	m := fromProbe(r, cand)
	m.SamplesSent += d.SamplesSent
	m.ChronydState = d.ChronydState
	return &m, fmt.Sprintf("chronyd heard nothing in its last %d polls, the probe got %d of %d replies: both count toward reach",
		d.SamplesSent, r.SamplesOK, r.SamplesSent)
}
