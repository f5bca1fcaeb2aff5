package scoring

import (
	"fmt"
	"maps"
	"net/netip"
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
	// sample went unanswered.
	Failures map[netip.Addr]int `json:"failures,omitempty"`
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

// BlacklistEntry keeps an address out of every set until Until.
type BlacklistEntry struct {
	Name   string    `json:"server"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Count  int       `json:"count"` // how many times it has been blacklisted
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
		Blacklist: maps.Clone(s.Blacklist),
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
// returns a note when m was blacklisted by this run. Pinned servers are
// never counted or blacklisted: the operator asked for them.
func (s *State) record(m *Measurement, now time.Time, cfg *Config) string {
	if m.Pinned {
		delete(s.Failures, m.Address)
		return ""
	}
	why := ""
	switch {
	case blacklistingKoD[m.KoD]:
		why = "kiss-o'-death " + m.KoD
	case m.KoD != "":
		return "" // RATE and the like: an answer, not silence; the prober backs off
	case m.SamplesSent > 0 && m.SamplesOK == 0:
		s.Failures[m.Address]++
		if s.Failures[m.Address] < cfg.BlacklistAfterRuns {
			return ""
		}
		why = fmt.Sprintf("no reply in %d runs in a row", s.Failures[m.Address])
	case m.SamplesOK > 0:
		delete(s.Failures, m.Address)
		return ""
	default:
		return ""
	}
	delete(s.Failures, m.Address)
	prev, had := s.Blacklist[m.Address]
	if had && prev.Active(now) {
		return ""
	}
	n := prev.Count + 1
	until := now.Add(blacklistTerm(n, cfg))
	s.Blacklist[m.Address] = BlacklistEntry{Name: m.Name, Reason: why, Since: now, Until: until, Count: n}
	return fmt.Sprintf("%s: blacklisted until %s (%s time)", why, until.UTC().Format(time.RFC3339), ordinal(n))
}

// prune forgets what no longer matters: failure counts and streaks of
// addresses this run did not see, and blacklist entries expired for
// longer than blacklist_max.
func (s *State) prune(seen map[netip.Addr]bool, now time.Time, cfg *Config) {
	maps.DeleteFunc(s.Failures, func(a netip.Addr, _ int) bool { return !seen[a] })
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
