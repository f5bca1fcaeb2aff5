package scoring

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Verdict is what became of a candidate.
type Verdict string

// The verdicts.
const (
	Selected Verdict = "selected" // in the set
	Standby  Verdict = "standby"  // usable, not in the set this run
	Rejected Verdict = "rejected" // failed a hard filter or min_score
)

// Candidate is a measurement with everything scoring concluded about it.
// Its JSON form carries the measurement's keys plus score, verdict and
// reason, the keys `probe --json` and `apply --json` print.
type Candidate struct {
	Measurement
	ReachRatio  float64   `json:"reach"`           // Measurement.Reach()
	RootDist    float64   `json:"root_distance_s"` // Measurement.RootDistance()
	OperatorKey string    `json:"operator_key"`    // who runs it, as diversity sees it
	Interval    Interval  `json:"interval"`        // correctness interval
	Sub         SubScores `json:"sub_scores"`
	Score       float64   `json:"score"`
	Rank        int       `json:"rank"` // 1 = best; usable before rejected, then by score
	Verdict     Verdict   `json:"verdict"`
	Reason      string    `json:"reason"`
	// Failed lists every hard filter the candidate fails, in a fixed order.
	Failed      []string `json:"failed,omitempty"`
	Falseticker bool     `json:"falseticker"` // by the intersection or chronyd

	prefix   netip.Prefix
	upstream uint32
	pending  bool // its only failure is "not measured"
	silent   bool // its only failures are silence (and a blacklisting for it)
	witness  bool // takes part in the intersection
	soft     int  // how many of Failed are soft filters (stratum bounds, root distance)
}

// build fills in everything that depends on c alone and the state.
func (c *Candidate) build(st *State, now time.Time, cfg *Config) {
	m := &c.Measurement
	c.ReachRatio = m.Reach()
	c.RootDist = m.RootDistance()
	c.OperatorKey = operatorKey(m)
	c.prefix = netPrefix(m.Address)
	c.upstream = upstream(m)
	if bad := m.invalid(); bad != "" {
		c.Failed = []string{bad}
		return
	}
	c.Interval = CorrectnessInterval(m)
	c.Sub = Sub(m)
	c.Score = c.Sub.Weighted(cfg.Weights)

	fail := func(format string, a ...any) { c.Failed = append(c.Failed, fmt.Sprintf(format, a...)) }
	answered, silences := false, 0
	if m.AuthError != "" {
		fail("%s", m.AuthError)
	}
	switch {
	case m.KoD != "":
		fail("kiss-o'-death %s", m.KoD)
	case m.SamplesSent == 0:
		fail("not measured")
		c.pending = true
	case m.SamplesOK == 0:
		fail("no reply to any of %d samples", m.SamplesSent)
		silences++
	default:
		answered = true
	}
	if e, ok := st.Blacklisted(m.Address, now); ok && !m.Pinned {
		if e.silent() && silences > 0 {
			silences++
		}
		fail("blacklisted until %s (%s time: %s)", e.Until.UTC().Format(time.RFC3339), ordinal(e.Count), e.Reason)
	}
	synced := true
	if answered {
		synced = c.checkSync(fail)
		if m.Stratum > 0 && m.Stratum < stratumMaxStrat && (m.Stratum < cfg.MinStratum || m.Stratum > cfg.MaxStratum) {
			fail("stratum %d outside %d..%d", m.Stratum, cfg.MinStratum, cfg.MaxStratum)
			c.soft++
		}
	}
	distOK := c.RootDist <= cfg.MaxRootDistance
	if answered && !distOK {
		fail("root distance %s over the %s limit", fmtSeconds(c.RootDist), fmtSeconds(cfg.MaxRootDistance))
		c.soft++
	}
	if m.ChronydState == StateFalseticker {
		c.Falseticker = true
		fail("falseticker: chronyd marks it 'x'")
	}
	c.pending = c.pending && len(c.Failed) == 1
	c.silent = silences > 0 && silences == len(c.Failed)
	c.witness = answered && synced && distOK && m.KoD == ""
}

// checkSync adds the unsynchronised failures (RFC 5905 section 7.3: leap 3
// is "alarm", stratum 0 is "unspecified or invalid", 16 "unsynchronized").
func (c *Candidate) checkSync(fail func(string, ...any)) bool {
	m := &c.Measurement
	var why []string
	if m.Leap == 3 {
		why = append(why, "leap indicator 3 (alarm)")
	}
	if m.Stratum == 0 || m.Stratum >= stratumMaxStrat {
		why = append(why, fmt.Sprintf("stratum %d", m.Stratum))
	}
	if m.Unsynchronized && len(why) == 0 {
		why = append(why, fmt.Sprintf("reported by %s", m.Origin))
	}
	if len(why) == 0 {
		return true
	}
	fail("unsynchronised: %s", strings.Join(why, ", "))
	return false
}

// markFalseticker applies the intersection's verdict to a witness.
func (c *Candidate) markFalseticker(maj Majority) {
	if !c.witness || !maj.Found || c.Interval.overlaps(maj.Interval) {
		return
	}
	c.Falseticker = true
	c.pending = false
	c.Failed = append(c.Failed, fmt.Sprintf("falseticker: %s ms outside the majority interval [%s, %s] ms",
		fmtMs(c.Offset), fmtMs(maj.Interval.Low), fmtMs(maj.Interval.High)))
}

// healthy says c passes every hard filter.
func (c *Candidate) healthy() bool { return len(c.Failed) == 0 }

// fmtMs formats seconds as signed milliseconds with one decimal, or three
// below 0.1 ms so a tiny value does not read as zero.
func fmtMs(s float64) string {
	ms := s * 1e3
	if ms > -0.1 && ms < 0.1 && ms != 0 {
		return fmt.Sprintf("%+.3f", ms)
	}
	return fmt.Sprintf("%+.1f", ms)
}

// fmtSeconds formats seconds for a reason: "1.5 s", "0.25 s".
func fmtSeconds(s float64) string { return fmt.Sprintf("%.4g s", s) }
