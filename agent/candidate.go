package agent

import (
	"encoding/json"

	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// fromProbe maps a direct probe of one address onto scoring's input. cand
// carries what discovery knows about the name (operator, smearing, pinned);
// nil when the name is not a candidate (plain `probe SERVER`).
func fromProbe(r *prober.Result, cand *discovery.Candidate) scoring.Measurement {
	m := scoring.Measurement{
		Origin:         scoring.OriginProbe,
		Address:        r.Address,
		Port:           r.Port,
		Name:           r.Server,
		Offset:         r.Offset.Seconds(),
		Delay:          r.Delay.Seconds(),
		Jitter:         r.Jitter.Seconds(),
		RootDelay:      r.RootDelay.Seconds(),
		RootDispersion: r.RootDispersion.Seconds(),
		Stratum:        int(r.Stratum),
		Leap:           int(r.Leap),
		RefID:          r.RefID,
		SamplesSent:    r.SamplesSent,
		SamplesOK:      r.SamplesOK,
		KoD:            r.KoD,
		Unsynchronized: r.Unsynchronized,
	}
	if cand == nil {
		d := discovery.Describe(r.Server)
		cand = &d
	}
	describe(&m, cand)
	return m
}

// describe copies what discovery knows about a name onto a measurement.
func describe(m *scoring.Measurement, c *discovery.Candidate) {
	m.Operator, m.Pool, m.Smearing, m.Pinned = c.Operator, c.Pool, c.Smearing, c.Pinned
	if c.Auth != "" {
		m.Auth = c.Auth
	}
}

// CandidateReport is one candidate as `probe --json` and `apply --json`
// print it: the measurement's keys (server, address, port, offset_s,
// delay_s, jitter_s, stratum, refid, leap, root_distance_s, reach,
// samples_sent, samples_ok, kod, unsynchronized), scoring's conclusion
// (score, verdict, reason, sub_scores, rank) and, for a direct probe, the
// individual samples and the error if it could not be measured; for an
// NTS pre-flight the cookies its key exchange gave (nts_cookies) and the
// address it went to (nts_ke), its reason in error and auth_error.
type CandidateReport struct {
	scoring.Candidate
	Error      string              `json:"error,omitempty"`
	Samples    []prober.JSONSample `json:"samples,omitempty"`
	NTSCookies int                 `json:"nts_cookies,omitempty"`
	NTSKE      string              `json:"nts_ke,omitempty"`
}

// unmeasuredKeys are nulled in a report's JSON when no usable reply came
// back (jitter_s also when fewer than two did), so a script cannot mistake
// "not measured" for a perfect zero.
var unmeasuredKeys = []string{"offset_s", "delay_s", "stratum", "leap", "refid_raw",
	"root_delay_s", "root_dispersion_s", "root_distance_s", "interval", "sub_scores"}

// MarshalJSON writes the report's keys, with null for values that were not
// measured.
func (r CandidateReport) MarshalJSON() ([]byte, error) {
	type plain CandidateReport
	b, err := json.Marshal(plain(r))
	if err != nil || r.SamplesOK >= 2 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["jitter_s"] = json.RawMessage("null")
	if r.SamplesOK == 0 {
		for _, k := range unmeasuredKeys {
			m[k] = json.RawMessage("null")
		}
	}
	return json.Marshal(m)
}

// Targets turns candidates into prober targets. A candidate on the
// standard port gets the prober's configured port (123 unless the lab or a
// test says otherwise).
func Targets(cs []discovery.Candidate) []prober.Target {
	ts := make([]prober.Target, len(cs))
	for i, c := range cs {
		ts[i] = prober.Target{Name: c.Name, Port: c.Port, MinSpacing: c.MinSpacing}
		if c.Port == discovery.DefaultPort {
			ts[i].Port = 0
		}
	}
	return ts
}
