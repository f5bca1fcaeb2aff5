package scoring

import (
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"time"
)

// State is what scoring remembers between runs. It is a plain value: the
// agent stores it as JSON and passes it back in; Decide never modifies the
// State it is given and returns a new one.
type State struct {
	// Streaks counts, per current member, the consecutive runs in which it
	// should have been replaced (see Decide's hysteresis rules).
	Streaks map[netip.Addr]Streak `json:"streaks,omitempty"`
	// Failures counts, per address, the consecutive runs in which every
	// sample went unanswered while enough other servers answered (see
	// Tally); Evidence says, for each of those runs, what answered.
	Failures map[netip.Addr]int      `json:"failures,omitempty"`
	Evidence map[netip.Addr][]string `json:"evidence,omitempty"`
	// Trends follow each current member across runs for the hysteresis
	// rules the score alone would hide (see hysteresis).
	Trends map[netip.Addr]Trend `json:"trends,omitempty"`
	// Blacklist holds current and expired entries; an expired entry is
	// kept for blacklist_max so a repeat doubles the next term, then dropped.
	Blacklist map[netip.Addr]BlacklistEntry `json:"blacklist,omitempty"`
}

// Streak counts the consecutive runs a current member has lost.
type Streak struct {
	Runs int `json:"runs"`
	// Challenger is the server that beat it in the latest run; the zero
	// address when it lost for being below min_score with no challenger.
	Challenger netip.Addr `json:"challenger,omitzero"`
}

// Trend is what the hysteresis remembers of a current member.
type Trend struct {
	Reach float64 `json:"reach"` // its reach in the latest run
	// Falling counts the consecutive runs its reach fell (and was below 1).
	Falling int `json:"falling,omitempty"`
	// Jittery counts the consecutive runs chronyd marked it '~'.
	Jittery int `json:"jittery,omitempty"`
}

// BlacklistEntry keeps an address out of every set until Until.
type BlacklistEntry struct {
	Name   string    `json:"server"`
	Reason string    `json:"reason"`
	Kind   string    `json:"kind,omitempty"` // BlacklistSilent or BlacklistKoD
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Count  int       `json:"count"` // how many times it has been blacklisted
	// Evidence is what the decision rested on: for a silent server, each
	// failed run with what answered in it.
	Evidence []string `json:"evidence,omitempty"`
	// Lifted is when the entry ended early: the server answered again (at
	// chronyd), or an operator cleared it.
	Lifted time.Time `json:"lifted,omitzero"`
}

// The kinds of blacklist entry.
const (
	BlacklistSilent = "silent" // no reply in blacklist_after_runs runs in a row
	BlacklistKoD    = "kod"    // a kiss-o'-death DENY or RSTR
)

// silent says the entry is for silence (entries written before Kind
// existed say so in their reason).
func (e BlacklistEntry) silent() bool {
	return e.Kind == BlacklistSilent || e.Kind == "" && strings.HasPrefix(e.Reason, "no reply")
}

// Lift ends addr's entry at now, keeping it (expired) so a repeat still
// doubles the next term; false when addr has no active entry.
func (s *State) Lift(addr netip.Addr, now time.Time) bool {
	e, ok := s.Blacklisted(addr, now)
	if !ok {
		return false
	}
	e.Until, e.Lifted = now, now
	s.Blacklist[addr] = e
	return true
}

// Tally is what answered in one run among the servers measured one way
// (by the probe, or by chronyd). A silence is evidence against a server
// only when enough others answered in the same run: at least one, and at
// least half of those measured. Otherwise the evidence is about this
// machine (its network, its firewall), and nothing is counted.
type Tally struct {
	Measured int `json:"measured"`
	Answered int `json:"answered"`
}

// Counts says the run's silences count against the servers.
func (t Tally) Counts() bool { return t.Answered >= 1 && 2*t.Answered >= t.Measured }

// Tallies counts, per origin, the measurements that were sent anything
// and those that got an answer (a kiss code is an answer).
func Tallies(ms []Measurement) map[Origin]Tally {
	out := map[Origin]Tally{}
	for i := range ms {
		m := &ms[i]
		if m.SamplesSent == 0 {
			continue
		}
		t := out[m.Origin]
		t.Measured++
		if m.SamplesOK > 0 || m.KoD != "" {
			t.Answered++
		}
		out[m.Origin] = t
	}
	return out
}

// Active says whether the entry still blacklists at now.
func (e BlacklistEntry) Active(now time.Time) bool { return now.Before(e.Until) }

// Blacklisted returns addr's entry if it is blacklisted at now.
func (s *State) Blacklisted(addr netip.Addr, now time.Time) (BlacklistEntry, bool) {
	e, ok := s.Blacklist[addr]
	return e, ok && e.Active(now)
}

// clone is a deep copy with every map allocated.
func (s *State) clone() State {
	c := State{
		Streaks:   maps.Clone(s.Streaks),
		Failures:  maps.Clone(s.Failures),
		Evidence:  maps.Clone(s.Evidence),
		Trends:    maps.Clone(s.Trends),
		Blacklist: maps.Clone(s.Blacklist),
	}
	if c.Evidence == nil {
		c.Evidence = map[netip.Addr][]string{}
	}
	if c.Trends == nil {
		c.Trends = map[netip.Addr]Trend{}
	}
	if c.Streaks == nil {
		c.Streaks = map[netip.Addr]Streak{}
	}
	if c.Failures == nil {
		c.Failures = map[netip.Addr]int{}
	}
	if c.Blacklist == nil {
		c.Blacklist = map[netip.Addr]BlacklistEntry{}
	}
	return c
}

// Kiss codes that end a server's service to us (RFC 5905 section 7.4:
// DENY and RSTR mean "stop"); they blacklist at once.
var blacklistingKoD = map[string]bool{"DENY": true, "RSTR": true}

// blacklistTerm is the n-th term's length: base doubled n−1 times, capped.
func blacklistTerm(n int, cfg *Config) time.Duration {
	d := cfg.BlacklistBase
	for i := 1; i < n && d < cfg.BlacklistMax; i++ {
		d *= 2
	}
	return min(d, cfg.BlacklistMax)
}

// record updates failure counts and the blacklist with m's outcome and
// returns a note when m was blacklisted or lifted by this run. Pinned
// servers are never counted or blacklisted: the operator asked for them.
// t is what answered in this run among the servers measured like m: a
// silence when too few answered counts nothing (and resets nothing).
func (s *State) record(m *Measurement, t Tally, now time.Time, cfg *Config) string {
	if m.Pinned {
		s.forget(m.Address)
		return ""
	}
	var why, kind string
	switch {
	case blacklistingKoD[m.KoD]:
		why, kind = "kiss-o'-death "+m.KoD, BlacklistKoD
	case m.KoD != "":
		return "" // RATE and the like: an answer, not silence; the prober backs off
	case m.SamplesSent > 0 && m.SamplesOK == 0:
		if !t.Counts() {
			return ""
		}
		s.Failures[m.Address]++
		s.Evidence[m.Address] = append(s.Evidence[m.Address], fmt.Sprintf(
			"%s: no reply to %d samples (%s); %d of %d others measured so answered",
			now.UTC().Format(time.RFC3339), m.SamplesSent, m.Origin, t.Answered, t.Measured-1))
		if s.Failures[m.Address] < cfg.BlacklistAfterRuns {
			return ""
		}
		why, kind = fmt.Sprintf("no reply in %d runs in a row", s.Failures[m.Address]), BlacklistSilent
	case m.SamplesOK > 0:
		s.forget(m.Address)
		if e, ok := s.Blacklisted(m.Address, now); ok && e.silent() {
			s.Lift(m.Address, now)
			return "blacklist lifted: it answers again"
		}
		return ""
	default:
		return ""
	}
	evidence := s.Evidence[m.Address]
	s.forget(m.Address)
	prev, had := s.Blacklist[m.Address]
	if had && prev.Active(now) {
		return ""
	}
	n := prev.Count + 1
	until := now.Add(blacklistTerm(n, cfg))
	s.Blacklist[m.Address] = BlacklistEntry{Name: m.Name, Reason: why, Kind: kind, Since: now, Until: until, Count: n,
		Evidence: evidence}
	return fmt.Sprintf("%s: blacklisted until %s (%s time)", why, until.UTC().Format(time.RFC3339), ordinal(n))
}

// forget drops addr's failure count and its evidence.
func (s *State) forget(addr netip.Addr) {
	delete(s.Failures, addr)
	delete(s.Evidence, addr)
}

// trend follows a current member: its reach and chronyd's '~' marks.
func (s *State) trend(c *Candidate) {
	prev, had := s.Trends[c.Address]
	t := Trend{Reach: c.ReachRatio}
	if had && c.SamplesSent > 0 && c.ReachRatio < prev.Reach && c.ReachRatio < 1 {
		t.Falling = prev.Falling + 1
	}
	if c.ChronydState == StateJittery {
		t.Jittery = prev.Jittery + 1
	}
	s.Trends[c.Address] = t
}

// prune forgets what no longer matters: failure counts and streaks of
// addresses this run did not see, and blacklist entries expired for
// longer than blacklist_max.
func (s *State) prune(seen map[netip.Addr]bool, now time.Time, cfg *Config) {
	maps.DeleteFunc(s.Failures, func(a netip.Addr, _ int) bool { return !seen[a] })
	maps.DeleteFunc(s.Evidence, func(a netip.Addr, _ []string) bool { _, ok := s.Failures[a]; return !ok })
	maps.DeleteFunc(s.Trends, func(a netip.Addr, _ Trend) bool { return !seen[a] })
	maps.DeleteFunc(s.Streaks, func(a netip.Addr, _ Streak) bool { return !seen[a] })
	maps.DeleteFunc(s.Blacklist, func(_ netip.Addr, e BlacklistEntry) bool {
		return !now.Before(e.Until.Add(cfg.BlacklistMax))
	})
}

// ordinal is 1st, 2nd, 3rd, 4th ...
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
