package scoring

import (
	"cmp"
	"fmt"
)

// className names a smearing class for reasons.
func className(smearing bool) string {
	if smearing {
		return "leap-smearing"
	}
	return "non-smearing"
}

func (s *selector) classMismatch(c *Candidate) string {
	return fmt.Sprintf("%s, and the set is %s (never mixed)", className(c.Smearing), className(s.smearing))
}

// classCapacity is how well one class could fill the set: distinct
// operators and servers (each capped at set_size) and current members.
type classCapacity struct{ operators, servers, current int }

func (a classCapacity) compare(b classCapacity) int {
	if c := cmp.Compare(a.operators, b.operators); c != 0 {
		return c
	}
	if c := cmp.Compare(a.servers, b.servers); c != 0 {
		return c
	}
	return cmp.Compare(a.current, b.current)
}

// chooseClass decides whether the set is leap-smearing or not; the two are
// never mixed (RFC 8633 and Google's guidance: during a smear the two kinds
// differ by up to 0.5 s, and a client following both is wrong by half).
//
//  1. Pinned servers decide: the class most of them have (a tie, or none
//     smearing, gives non-smearing). If they mix, that is the operator's
//     choice; the note says so and the others follow the majority.
//  2. Otherwise the class that can fill more of the set wins: more distinct
//     operators (up to set_size), then more servers (up to set_size), then
//     more healthy current members — so an even contest keeps today's
//     class instead of flapping between the two.
//  3. A complete tie gives non-smearing: UTC as broadcast, what the pool,
//     NIST, PTB and most others serve.
//
// A server counts when it passes every hard filter and either scores at
// least min_score or is a current member.
func (s *selector) chooseClass() {
	var pinned [2]int
	for _, c := range s.cands {
		if c.Pinned {
			pinned[b2i(c.Smearing)]++
		}
	}
	if pinned[0]+pinned[1] > 0 {
		s.smearing = pinned[1] > pinned[0]
		if pinned[0] > 0 && pinned[1] > 0 {
			s.notes = append(s.notes, fmt.Sprintf(
				"pinned servers mix leap-smearing and non-smearing servers; the others are %s", className(s.smearing)))
		}
		return
	}
	var capa [2]classCapacity
	ops := [2]map[string]bool{{}, {}}
	for _, c := range s.cands {
		if !c.healthy() || (c.Score < s.cfg.MinScore && !c.Current) {
			continue
		}
		i := b2i(c.Smearing)
		ops[i][c.OperatorKey] = true
		capa[i].servers++
		if c.Current {
			capa[i].current++
		}
	}
	for i := range capa {
		capa[i].operators = min(len(ops[i]), s.cfg.SetSize)
		capa[i].servers = min(capa[i].servers, s.cfg.SetSize)
	}
	s.smearing = capa[1].compare(capa[0]) > 0
	if capa[0].servers > 0 && capa[1].servers > 0 {
		s.notes = append(s.notes, fmt.Sprintf(
			"leap-smearing and non-smearing servers are never mixed: the set is %s (%d vs %d usable operators)",
			className(s.smearing), capa[b2i(s.smearing)].operators, capa[b2i(!s.smearing)].operators))
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
