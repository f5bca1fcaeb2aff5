package agent

import (
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Evaluation is a decision together with the per-candidate reports the
// table, --json and history show.
type Evaluation struct {
	Decision scoring.Decision
	State    scoring.State
	// Reports are in rank order; addresses that could not be measured at
	// all (a name that does not resolve) come last.
	Reports []CandidateReport
}

// Evaluate scores measured addresses. probes are direct measurements,
// extra are measurements from elsewhere (chronyd's own statistics); an
// address present in both is taken from extra. cands maps a lower-cased
// name to what discovery knows about it.
func Evaluate(probes []prober.Result, extra []scoring.Measurement, cands map[string]*discovery.Candidate,
	st scoring.State, now time.Time, cfg scoring.Config) (Evaluation, error) {
	var in scoring.Input
	have := map[string]bool{}
	for _, m := range extra {
		in.Measurements = append(in.Measurements, m)
		have[m.Address.String()] = true
	}
	byAddr := map[string]*prober.Result{}
	var unmeasured []CandidateReport
	for i := range probes {
		r := &probes[i]
		if !r.Address.IsValid() {
			unmeasured = append(unmeasured, unresolved(r))
			continue
		}
		byAddr[r.Address.String()] = r
		if have[r.Address.String()] {
			continue
		}
		in.Measurements = append(in.Measurements, FromProbe(r, cands[strings.ToLower(r.Server)]))
	}
	dec, next, err := scoring.Decide(in, st, now, cfg)
	if err != nil {
		return Evaluation{}, err
	}
	ev := Evaluation{Decision: dec, State: next}
	for _, c := range dec.Candidates {
		rep := CandidateReport{Candidate: c}
		if r := byAddr[c.Address.String()]; r != nil && c.Origin == scoring.OriginProbe {
			rep.Error = r.Err
			rep.Samples = r.JSON().Samples
		}
		ev.Reports = append(ev.Reports, rep)
	}
	for i := range unmeasured {
		unmeasured[i].Rank = len(ev.Reports) + 1
		ev.Reports = append(ev.Reports, unmeasured[i])
	}
	return ev, nil
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

// CandidateIndex maps lower-cased candidate names to the candidates.
func CandidateIndex(cs []discovery.Candidate) map[string]*discovery.Candidate {
	m := make(map[string]*discovery.Candidate, len(cs))
	for i := range cs {
		m[strings.ToLower(cs[i].Name)] = &cs[i]
	}
	return m
}
