package agent

import (
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// catalogNTS marks the catalog's servers known to offer NTS (and any list
// entry the catalog knows as such) to be used with NTS, unless the policy
// is off: they are then pre-flighted like a server listed "NAME nts" and,
// if they pass, added by name with nts. A server the daemon already has
// (origin chronyd) keeps the authentication the daemon uses: the catalog
// does not make a plain source look authenticated. It returns how many it
// marked.
func catalogNTS(cands []discovery.Candidate, p scoring.AuthPolicy) int {
	if p == scoring.AuthOff {
		return 0
	}
	n := 0
	for i := range cands {
		c := &cands[i]
		if c.NTS && c.Auth == "" && c.Origin != discovery.OriginChronyd && !c.Pinned {
			c.Auth = discovery.AuthNTS
			n++
		}
	}
	return n
}

// NTSCapable is a Backend that can tell whether its daemon authenticates
// with NTS (the file backends: NTPsec can, classic ntpd and timesyncd
// cannot). A Backend without the method is taken to (chronyd).
type NTSCapable interface {
	CanNTS() bool
}

// canNTS says whether b's daemon can use a source with NTS.
func canNTS(b Backend) bool {
	c, ok := b.(NTSCapable)
	return !ok || c.CanNTS()
}
