package scoring

import (
	"fmt"
	"net/netip"
	"slices"
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
	low := m.Score < cfg.MinScore
	best := s.challenger(m, low)
	beats := best != nil && (low || m.Score < best.Score*(1-cfg.HysteresisPercent/100))
	alone := low && best == nil && len(s.set)-1 >= cfg.minSet()
	if !beats && !alone {
		delete(s.st.Streaks, m.Address)
		switch {
		case best != nil && best.Score > m.Score:
			m.Reason = fmt.Sprintf("kept: challenger %.1f vs %.1f is within %g %% (%s)",
				best.Score, m.Score, cfg.HysteresisPercent, best.Address)
			s.challenge[best] = fmt.Sprintf("standby: score %.1f, but member %s (%.1f) is within %g %%",
				best.Score, m.Address, m.Score, cfg.HysteresisPercent)
		case best != nil:
			m.Reason = fmt.Sprintf("kept: score %.1f, best challenger %.1f", m.Score, best.Score)
		case low:
			m.Reason = fmt.Sprintf("kept: score %.1f is below min_score %g, but no eligible server can replace it "+
				"and the set may not shrink below %d", m.Score, cfg.MinScore, cfg.minSet())
		}
		return
	}

	var why string
	switch {
	case low && best != nil:
		why = fmt.Sprintf("score %.1f is below min_score %g and %s has %.1f", m.Score, cfg.MinScore, best.Address, best.Score)
	case low:
		why = fmt.Sprintf("score %.1f is below min_score %g", m.Score, cfg.MinScore)
	default:
		why = fmt.Sprintf("score %.1f is more than %g %% below challenger %s (%.1f)",
			m.Score, cfg.HysteresisPercent, best.Address, best.Score)
	}
	runs := s.st.Streaks[m.Address].Runs + 1
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
	s.remove(m, fmt.Sprintf("replaced by %s: score %.1f vs %.1f, %s", best.Address, best.Score, m.Score, inARow))
	delete(s.challenge, best)
	s.add(best, fmt.Sprintf("selected: score %.1f replaces %s (score %.1f), %s", best.Score, m.Address, m.Score, inARow))
}

// challenger is the best eligible server that could take m's place: in
// rank order, the first that fits the set without m at least as well as
// m does — or any, when anyFit.
func (s *selector) challenger(m *Candidate, anyFit bool) *Candidate {
	own, _ := fit(m, s.set, m)
	for _, c := range s.cands {
		if !s.eligible(c) {
			continue
		}
		if l, _ := fit(c, s.set, m); anyFit || l <= own {
			return c
		}
	}
	return nil
}

func addrOf(c *Candidate) netip.Addr {
	if c == nil {
		return netip.Addr{}
	}
	return c.Address
}
