package scoring

import (
	"fmt"
	"strings"
)

// selector builds the set. cands is in rank order; a candidate's Verdict
// is empty until it is decided, and Selected exactly while it is in set.
type selector struct {
	cfg      *Config
	st       *State
	cands    []*Candidate
	set      []*Candidate
	smearing bool // the set's class: leap-smearing or not
	changes  int  // score-driven changes made this run
	relaxed  [levelNoOperator + 1]bool
	notes    []string
	frozen   bool // recovering from an outage: the hysteresis counts nothing
	// challenge holds the standby reason of a challenger still waiting.
	challenge map[*Candidate]string
}

func (s *selector) add(c *Candidate, reason string) {
	c.Verdict, c.Reason = Selected, reason
	s.set = append(s.set, c)
}

func (s *selector) remove(c *Candidate, reason string) {
	c.Verdict, c.Reason = s.verdictOutside(c), reason
	for i, x := range s.set {
		if x == c {
			s.set = append(s.set[:i], s.set[i+1:]...)
			break
		}
	}
}

// verdictOutside is the verdict of c when it is not in the set.
func (s *selector) verdictOutside(c *Candidate) Verdict {
	if !c.healthy() || c.Score < s.cfg.MinScore {
		return Rejected
	}
	return Standby
}

// eligible says c may join the set: undecided, passing every hard filter,
// scoring at least min_score, of the set's smearing class, and not a
// member of the daemon's own pool.
func (s *selector) eligible(c *Candidate) bool {
	return c.Verdict == "" && c.healthy() && c.Score >= s.cfg.MinScore && c.Smearing == s.smearing &&
		c.DaemonPool == "" && s.authOK(c)
}

// run selects the set in the order the rules are written in doc.go.
func (s *selector) run() {
	s.challenge = map[*Candidate]string{}
	s.pinned()
	s.chooseClass()
	s.members()
	s.trim()
	s.fill()
	s.hysteresis()
	s.finish()
	if n := s.authNote(); n != "" {
		s.notes = append(s.notes, n)
	}
	if n := len(s.set); n < s.cfg.minSet() {
		s.notes = append(s.notes, fmt.Sprintf("only %d usable server(s): the set is below the minimum of %d", n, s.cfg.minSet()))
	}
}

// pinned puts every `keep` server in the set, whatever its health: the
// operator's word overrides the filters, but the reason still shows them.
func (s *selector) pinned() {
	for _, c := range s.cands {
		if !c.Pinned {
			continue
		}
		r := "pinned (keep)"
		if !c.healthy() {
			r += ", although: " + strings.Join(c.Failed, "; ")
		}
		s.add(c, r)
	}
}

// members keeps the current set's healthy members of the set's class and
// removes the others at once: a hard failure is not a matter of degree,
// and mixing smearing with non-smearing servers is never allowed. A member
// not measured yet (chronyd has not polled it) is kept: it is not failing,
// only new. A silent member (no reply at all) stays in the set until the
// hysteresis finds a server to replace it: removing it alone would not
// give the daemon one more working source.
func (s *selector) members() {
	for _, c := range s.cands {
		if !c.Current || c.Pinned {
			continue
		}
		switch {
		case c.Smearing != s.smearing:
			c.Verdict, c.Reason = s.verdictOutside(c), "removed: "+s.classMismatch(c)
		case c.silent:
			s.add(c, "kept for now: "+strings.Join(c.Failed, "; "))
		case s.protected(c) && c.softOnly():
			// Replaced only by an NTS server (see judge).
			s.add(c, "kept for now: "+strings.Join(c.Failed, "; ")+" (NTS)")
		case !c.healthy() && !c.pending:
			c.Verdict, c.Reason = Rejected, "removed: "+strings.Join(c.Failed, "; ")
		case c.pending:
			s.add(c, "kept: not measured yet")
		default:
			s.add(c, fmt.Sprintf("kept: score %.1f", c.Score))
		}
	}
}

// trim drops the lowest-ranked members when the current set is larger
// than set_size (pinned servers are never dropped), at once: the size is
// the operator's setting, not a judgement that could flap.
//
// Under the NTS policy plain members go first: trimming never keeps a
// plain source in place of an authenticated one.
func (s *selector) trim() {
	for pass := 0; pass < 2; pass++ {
		for i := len(s.cands) - 1; i >= 0 && len(s.set) > s.cfg.SetSize; i-- {
			c := s.cands[i]
			if c.Verdict != Selected || c.Pinned || (pass == 0 && s.protected(c)) {
				continue
			}
			s.remove(c, fmt.Sprintf("removed: the set holds %d and score %.1f ranks below the other members",
				s.cfg.SetSize, c.Score))
		}
	}
}

// fill takes eligible servers in rank order into empty slots, at once
// (an empty slot is no member to protect). It first admits only servers
// that keep every diversity rule, then relaxes the prefix rule, then the
// refid rule, then the operator rule, each only for the slots still empty.
// Under AuthPrefer an NTS server within hysteresis_percent of the best
// plain one takes the slot first.
func (s *selector) fill() {
	for lvl := levelStrict; lvl <= levelNoOperator; lvl++ {
		fits := func(c *Candidate) bool {
			l, _ := fit(c, s.set, nil)
			return s.eligible(c) && l <= lvl
		}
		// A candidate that does not fit never fits later (the set only
		// grows), so each scan starts where the last one found its first.
		from := 0
		for len(s.set) < s.cfg.SetSize {
			var first *Candidate
			for ; from < len(s.cands); from++ {
				if fits(s.cands[from]) {
					first = s.cands[from]
					break
				}
			}
			if first == nil {
				break
			}
			c, pref := s.preferNTS(first, s.cands, fits)
			l, why := fit(c, s.set, nil)
			r := fmt.Sprintf("selected: score %.1f, rank %d", c.Score, c.Rank)
			if pref != "" {
				r += "; " + pref
			}
			if l > levelStrict {
				s.relaxed[l] = true
				r += fmt.Sprintf("; %s (%s rule relaxed: too few diverse servers)", why, relaxedRule[l])
			}
			s.add(c, r)
		}
	}
}

// finish gives every undecided candidate its verdict and reason.
func (s *selector) finish() {
	for _, c := range s.cands {
		if c.Verdict != "" {
			continue
		}
		c.Verdict = s.verdictOutside(c)
		switch {
		case !c.healthy():
			c.Reason = strings.Join(c.Failed, "; ")
		case c.DaemonPool != "":
			c.Reason = fmt.Sprintf("member of chronyd's pool %s: chronyd replaces the pool's members itself, "+
				"the agent neither selects nor removes them (score %.1f)", c.DaemonPool, c.Score)
		case c.Score < s.cfg.MinScore:
			c.Reason = fmt.Sprintf("score %.1f below min_score %g", c.Score, s.cfg.MinScore)
		case c.Smearing != s.smearing:
			c.Reason = s.classMismatch(c)
		case s.challenge[c] != "":
			c.Reason = s.challenge[c]
		default:
			c.Reason = fmt.Sprintf("standby: score %.1f, rank %d; the set of %d is full", c.Score, c.Rank, s.cfg.SetSize)
			if l, why := fit(c, s.set, nil); l > levelStrict {
				c.Reason += "; " + why
			}
		}
	}
}
