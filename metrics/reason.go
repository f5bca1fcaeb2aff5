package metrics

import "strings"

// The reason classes of ntp_optimizer_server_verdict's reason_class label:
// a fixed, small set, so a failure's free text (addresses, figures, dates)
// never becomes a label value.
const (
	ReasonFalseticker    = "falseticker"    // outside the majority, or chronyd marks it 'x'
	ReasonUnsynchronised = "unsynchronised" // leap 3, stratum 0 or 16, or the daemon says so
	ReasonKoD            = "kod"            // a kiss-o'-death
	ReasonNoReply        = "no_reply"       // no reply to any sample
	ReasonBlacklisted    = "blacklisted"    // on the blacklist
	ReasonStratum        = "stratum"        // stratum outside min_stratum..max_stratum
	ReasonRootDistance   = "root_distance"  // root distance over max_root_distance
	ReasonNTS            = "nts"            // the NTS pre-flight failed or was not done
	ReasonUncorroborated = "uncorroborated" // no group of servers agrees with it
	ReasonNotMeasured    = "not_measured"   // not measured yet (chronyd has not polled it)
	ReasonScore          = "score"          // passed every filter, scored below min_score
	ReasonOther          = "other"          // anything else (an invalid measurement …)
)

// failurePrefixes maps the start of each of scoring's failure strings
// (scoring.Candidate.Failed) to its class.
var failurePrefixes = []struct{ prefix, class string }{
	{"falseticker", ReasonFalseticker},
	{"unsynchronised", ReasonUnsynchronised},
	{"kiss-o'-death", ReasonKoD},
	{"no reply", ReasonNoReply},
	{"blacklisted", ReasonBlacklisted},
	{"stratum", ReasonStratum},
	{"root distance", ReasonRootDistance},
	{"nts", ReasonNTS},
	{"uncorroborated", ReasonUncorroborated},
	{"not measured", ReasonNotMeasured},
}

// ReasonClass is the class of a candidate's failures (scoring's
// Candidate.Failed, in scoring's fixed order): the first failure's class,
// except that a falseticker wins whenever it is among them, since that is
// the one to alert on. A candidate that fails no filter has the class
// "score" if it was rejected for its score (reason "score … below
// min_score"), "other" if it was rejected for anything else, and no class
// ("") otherwise.
func ReasonClass(failed []string, rejected bool, reason string) string {
	first := ""
	for _, f := range failed {
		c := failureClass(f)
		if c == ReasonFalseticker {
			return c
		}
		if first == "" {
			first = c
		}
	}
	switch {
	case first != "":
		return first
	case !rejected:
		return ""
	case strings.HasPrefix(reason, "score ") && strings.Contains(reason, "below min_score"):
		return ReasonScore
	}
	return ReasonOther
}

func failureClass(f string) string {
	for _, p := range failurePrefixes {
		if strings.HasPrefix(f, p.prefix) {
			return p.class
		}
	}
	return ReasonOther
}
