package scoring

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// hysteresis decides which kept members give way. The rules, each with
// the flap it prevents:
//
//   - A member stays while it is within hysteresis_percent of its best
//     challenger (member ≥ challenger × (1 − h/100), the seed's "don't
//     switch if current within 15 % of best"). Prevents: swapping two
//     servers of nearly equal quality whenever their noisy scores cross.
//   - It is replaced only after losing stability_threshold runs in a row;
//     one run it does not lose resets the count (State.Streaks). Prevents:
//     following a single bad measurement (a congested minute, one lost
//     packet) and alternating scores that differ a lot but by turns.
//   - At most max_changes_per_run replacements per run, worst member
//     first. Prevents: a transient network problem on the client's side
//     that makes every member look bad at once from replacing the set.
//   - A challenger must not make the set less diverse than the member did.
//     Prevents: trading a diverse set for a slightly better-scoring cluster
//     and back.
//   - A member below min_score loses to any eligible challenger (no margin,
//     any diversity), or, with none, goes alone when the set keeps its
//     minimum size — still only after stability_threshold runs. Prevents:
//     a member hovering around min_score from being removed and re-added.
//
// The margin must not lock in a member that is failing in a way its score
// hides. Such a member loses to any eligible challenger, like one below
// min_score:
//
//   - Its reach fell in stability_threshold runs in a row (State.Trends),
//     e.g. 8/8 → 6/8 → 3/8: the fall itself spans the runs, so it is
//     replaced at once. Prevents: a dying server kept for many runs
//     because its other sub-scores still carry it within the margin.
//   - chronyd marked it '~' (too jittery to select) in stability_threshold
//     runs in a row; replaced at once. Prevents: keeping a source chronyd
//     itself refuses to use.
//   - Its jitter is over the seed's "good" band (5 ms) and at least ten
//     times the challenger's; stability_threshold still applies. Prevents:
//     a member whose reach and stratum are perfect hiding jitter an order
//     of magnitude worse behind the 35 % jitter weight.
//
// A silent member (no reply, to the probe and at chronyd) is replaced by
// the best eligible server at once, or kept when there is none: a silent
// source costs the daemon nothing, and removing it alone would not give
// it a working one. Prevents: a set shrinking while the network (or the
// server) is down, and re-adding it when it comes back.
//
// Members that fail a hard filter, are of the wrong smearing class, or
// exceed set_size never get here: they leave at once (see members, trim).
func (s *selector) hysteresis() {
	var members []*Candidate
	for _, c := range s.set {
		if c.Current && !c.Pinned && !c.pending {
			members = append(members, c)
		}
	}
	// Worst first: the reverse of rank order.
	slices.SortFunc(members, func(a, b *Candidate) int { return b.Rank - a.Rank })
	for _, m := range members {
		s.judge(m)
	}
}

func (s *selector) judge(m *Candidate) {
	cfg := s.cfg
	if m.silent {
		s.replaceSilent(m)
		return
	}
	if !m.healthy() {
		s.replaceSoft(m) // a protected NTS member failing a soft filter
		return
	}
	hidden, atOnce := s.hidden(m)
	low := m.Score < cfg.MinScore
	best := s.challenger(m, low)
	beats := best != nil && (low || m.Score < best.Score*(1-cfg.HysteresisPercent/100))
	if !beats && hidden == "" && best != nil && m.Jitter > jitterGood && m.Jitter >= 10*best.Jitter && best.SamplesOK >= 2 {
		hidden = fmt.Sprintf("jitter %s ms is over %g ms and ten times the challenger's (%s ms)",
			msText(m.Jitter), jitterGood*1e3, msText(best.Jitter))
	}
	switch {
	case beats && !atOnce:
		hidden = "" // the score says it already
	case hidden != "":
		best = s.challenger(m, true)
		beats = best != nil
	}
	if hidden == "" && !m.nts() && cfg.policy() == AuthRequire {
		if c := s.challenger(m, true); c != nil {
			hidden, atOnce, best, beats = "plain NTP (selection.authentication = require)", true, c, true
		}
	}
	// An NTS member never goes alone under the policy: its slot would be
	// filled with plain NTP.
	alone := low && best == nil && len(s.set)-1 >= cfg.minSet() && !s.protected(m)
	if !beats && !alone {
		if !s.frozen {
			delete(s.st.Streaks, m.Address)
		}
		switch {
		case best != nil && best.Score > m.Score:
			m.Reason = fmt.Sprintf("kept: challenger %.1f vs %.1f is within %g %% (%s)",
				best.Score, m.Score, cfg.HysteresisPercent, best.Address)
			s.challenge[best] = fmt.Sprintf("standby: score %.1f, but member %s (%.1f) is within %g %%",
				best.Score, m.Address, m.Score, cfg.HysteresisPercent)
		case best != nil:
			m.Reason = fmt.Sprintf("kept: score %.1f, best challenger %.1f", m.Score, best.Score)
		case low && s.protected(m):
			m.Reason = fmt.Sprintf("kept: score %.1f is below min_score %g, but no NTS server can replace it "+
				"(selection.authentication = %s: never traded for plain NTP)", m.Score, cfg.MinScore, cfg.policy())
		case low:
			m.Reason = fmt.Sprintf("kept: score %.1f is below min_score %g, but no eligible server can replace it "+
				"and the set may not shrink below %d", m.Score, cfg.MinScore, cfg.minSet())
		}
		return
	}

	var why string
	switch {
	case hidden != "":
		why = fmt.Sprintf("%s, and %s has %.1f", hidden, best.Address, best.Score)
	case low && best != nil:
		why = fmt.Sprintf("score %.1f is below min_score %g and %s has %.1f", m.Score, cfg.MinScore, best.Address, best.Score)
	case low:
		why = fmt.Sprintf("score %.1f is below min_score %g", m.Score, cfg.MinScore)
	default:
		why = fmt.Sprintf("score %.1f is more than %g %% below challenger %s (%.1f)",
			m.Score, cfg.HysteresisPercent, best.Address, best.Score)
	}
	if s.frozen {
		m.Reason = fmt.Sprintf("kept: %s; not counted while recovering from an outage", why)
		return
	}
	runs := s.st.Streaks[m.Address].Runs + 1
	if atOnce {
		runs = max(runs, cfg.StabilityThreshold)
	}
	if runs < cfg.StabilityThreshold || s.changes >= cfg.MaxChangesPerRun {
		s.st.Streaks[m.Address] = Streak{Runs: runs, Challenger: addrOf(best)}
		m.Reason = fmt.Sprintf("kept: %s, %s run of %d", why, ordinal(runs), cfg.StabilityThreshold)
		if runs >= cfg.StabilityThreshold {
			m.Reason += fmt.Sprintf("; max_changes_per_run (%d) reached", cfg.MaxChangesPerRun)
		}
		if best != nil {
			s.challenge[best] = fmt.Sprintf("standby: challenges %s (%.1f), %s run of %d",
				m.Address, m.Score, ordinal(runs), cfg.StabilityThreshold)
		}
		return
	}
	delete(s.st.Streaks, m.Address)
	s.changes++
	inARow := fmt.Sprintf("%s run in a row", ordinal(runs))
	if best == nil {
		s.remove(m, fmt.Sprintf("removed: %s, %s", why, inARow))
		return
	}
	if hidden != "" {
		s.remove(m, fmt.Sprintf("replaced by %s: %s, %s", best.Address, why, inARow))
	} else {
		s.remove(m, fmt.Sprintf("replaced by %s: score %.1f vs %.1f, %s", best.Address, best.Score, m.Score, inARow))
	}
	delete(s.challenge, best)
	s.add(best, fmt.Sprintf("selected: score %.1f replaces %s (score %.1f), %s", best.Score, m.Address, m.Score, inARow))
}

// hidden says why m is failing in a way its score hides, from its trend
// over the runs (the jitter rule needs the challenger; see judge); atOnce
// when the evidence already spans stability_threshold runs.
func (s *selector) hidden(m *Candidate) (why string, atOnce bool) {
	t := s.st.Trends[m.Address]
	n := s.cfg.StabilityThreshold
	switch {
	case t.Falling >= n:
		return fmt.Sprintf("its reach fell in %d runs in a row (now %.0f %%)", t.Falling, 100*m.ReachRatio), true
	case t.Jittery >= n:
		return fmt.Sprintf("chronyd marked it '~' (jittery) in %d runs in a row", t.Jittery), true
	}
	return "", false
}

// replaceSilent replaces a silent member with the best eligible server,
// at once and without counting toward max_changes_per_run (like any hard
// failure), or keeps it when no server can take its place.
func (s *selector) replaceSilent(m *Candidate) {
	failed := strings.Join(m.Failed, "; ")
	// Silence is a hard failure: an NTS member goes to an NTS server when
	// there is one, else to any.
	best := s.challenger(m, true)
	if best == nil && s.protected(m) {
		best = s.challengerOf(m, true, false)
	}
	delete(s.st.Streaks, m.Address)
	if best == nil {
		m.Reason = "kept: " + failed + ", but no eligible server can replace it " +
			"(removing it alone would not give the daemon a working source)"
		return
	}
	s.remove(m, fmt.Sprintf("replaced by %s: %s", best.Address, failed))
	delete(s.challenge, best)
	s.add(best, fmt.Sprintf("selected: score %.1f replaces %s (%s)", best.Score, m.Address, failed))
}

// challenger is the best eligible server that could take m's place: in
// rank order, the first that fits the set without m at least as well as
// m does — or any, when anyFit. An authenticated member under the NTS
// policy is challenged by NTS servers only; for a plain member an NTS
// server within hysteresis_percent of the best wins (AuthPrefer).
func (s *selector) challenger(m *Candidate, anyFit bool) *Candidate {
	return s.challengerOf(m, anyFit, s.protected(m))
}

func (s *selector) challengerOf(m *Candidate, anyFit, ntsOnly bool) *Candidate {
	own, _ := fit(m, s.set, m)
	ok := func(c *Candidate) bool {
		if !s.eligible(c) || (ntsOnly && !c.nts()) {
			return false
		}
		l, _ := fit(c, s.set, m)
		return anyFit || l <= own
	}
	for _, c := range s.cands {
		if ok(c) {
			best, _ := s.preferNTS(c, s.cands, ok)
			return best
		}
	}
	return nil
}

// replaceSoft replaces an NTS member that fails only soft filters (kept
// by members under the policy) with the best NTS server, at once like any
// filter failure, or keeps it when there is none.
func (s *selector) replaceSoft(m *Candidate) {
	failed := strings.Join(m.Failed, "; ")
	delete(s.st.Streaks, m.Address)
	best := s.challenger(m, true)
	if best == nil {
		m.Reason = fmt.Sprintf("kept: %s, but no NTS server can replace it (selection.authentication = %s: "+
			"a soft filter never trades authenticated time for plain NTP)", failed, s.cfg.policy())
		return
	}
	s.remove(m, fmt.Sprintf("replaced by %s: %s", best.Address, failed))
	delete(s.challenge, best)
	s.add(best, fmt.Sprintf("selected: score %.1f, NTS, replaces %s (%s)", best.Score, m.Address, failed))
}

func addrOf(c *Candidate) netip.Addr {
	if c == nil {
		return netip.Addr{}
	}
	return c.Address
}

// msText formats seconds as milliseconds, three significant digits.
func msText(s float64) string { return fmt.Sprintf("%.3g", s*1e3) }
