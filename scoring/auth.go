package scoring

import (
	"fmt"
	"strings"
)

// AuthPolicy is selection.authentication: how authenticated (NTS) sources
// weigh against plain NTP ones.
type AuthPolicy string

// The policies.
const (
	// AuthPrefer (the default): an authenticated member is replaced only by
	// an authenticated server, or when it fails a hard health check (no
	// reply, unsynchronised, falseticker, kiss-o'-death, a failed NTS
	// pre-flight); the soft filters (stratum bounds, root distance, score,
	// diversity) never trade it for plain NTP. For an empty slot, an NTS
	// server wins over a plain one within hysteresis_percent of it.
	AuthPrefer AuthPolicy = "prefer"
	// AuthRequire selects NTS servers only. Current plain members are kept
	// until verified NTS servers replace them, one for one, so the set
	// never shrinks for the policy's sake.
	AuthRequire AuthPolicy = "require"
	// AuthOff ignores authentication, as before NTS was known: a plain
	// server may take an NTS member's place on score alone.
	AuthOff AuthPolicy = "off"
)

// AuthNTS is Measurement.Auth of a server used with NTS.
const AuthNTS = "nts"

// AuthPolicies lists the valid values, default first.
var AuthPolicies = []AuthPolicy{AuthPrefer, AuthRequire, AuthOff}

// policy is the configured policy; empty means the default.
func (c *Config) policy() AuthPolicy {
	if c.Authentication == "" {
		return AuthPrefer
	}
	return c.Authentication
}

func (c *Candidate) nts() bool { return c.Auth == AuthNTS }

// protected says m may be replaced by an authenticated server only.
func (s *selector) protected(m *Candidate) bool {
	return m.nts() && s.cfg.policy() != AuthOff
}

// authOK says c may join the set under the policy.
func (s *selector) authOK(c *Candidate) bool {
	return c.nts() || s.cfg.policy() != AuthRequire
}

// preferNTS returns, for the best plain server first, an NTS server among
// cands that may take its place instead (ok says so for each) and scores
// within hysteresis_percent of it, when the policy prefers NTS; else first.
// cands are in rank order, so the scan stops at the first score below the
// margin.
func (s *selector) preferNTS(first *Candidate, cands []*Candidate, ok func(*Candidate) bool) (*Candidate, string) {
	if first == nil || first.nts() || s.cfg.policy() != AuthPrefer {
		return first, ""
	}
	floor := first.Score * (1 - s.cfg.HysteresisPercent/100)
	for _, c := range cands {
		if c.Score < floor && c.healthy() {
			break // rank order: every healthy server after it scores lower
		}
		if c == first || !c.nts() || !ok(c) {
			continue
		}
		return c, fmt.Sprintf("NTS preferred over %s (%.1f, plain NTP) within %g %%",
			first.Address, first.Score, s.cfg.HysteresisPercent)
	}
	return first, ""
}

// softOnly says every filter c fails is a soft one (stratum bounds, root
// distance): under the policy an authenticated member failing only those
// stays until an authenticated server replaces it.
func (c *Candidate) softOnly() bool {
	return c.soft > 0 && c.soft == len(c.Failed)
}

// authNote says what the policy did to the set, if anything.
func (s *selector) authNote() string {
	if s.cfg.policy() != AuthRequire {
		return ""
	}
	var plain []string
	for _, c := range s.set {
		if !c.nts() && !c.Pinned {
			plain = append(plain, c.Address.String())
		}
	}
	if len(plain) == 0 {
		return ""
	}
	return fmt.Sprintf("selection.authentication = require: %d plain NTP source(s) kept (%s) until verified "+
		"NTS servers replace them", len(plain), strings.Join(plain, ", "))
}
