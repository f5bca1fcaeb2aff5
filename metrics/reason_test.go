package metrics

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReasonClass(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failed   []string
		rejected bool
		reason   string
		want     string
	}{
		{name: "healthy selected", want: ""},
		{name: "healthy standby", reason: "standby: score 80.0, rank 5; the set of 4 is full", want: ""},
		{name: "below min_score", rejected: true, reason: "score 41.2 below min_score 50", want: ReasonScore},
		{name: "rejected otherwise", rejected: true, reason: "something new", want: ReasonOther},
		{name: "falseticker by intersection", rejected: true,
			failed: []string{"falseticker: +2500.0 ms outside the majority interval [-1.0, +1.0] ms"}, want: ReasonFalseticker},
		{name: "falseticker wins over an earlier failure", rejected: true,
			failed: []string{"root distance 2 s over the 1.5 s limit", "falseticker: chronyd marks it 'x'"}, want: ReasonFalseticker},
		{name: "unsynchronised", rejected: true, failed: []string{"unsynchronised: stratum 0"}, want: ReasonUnsynchronised},
		{name: "kod", rejected: true, failed: []string{"kiss-o'-death RATE", "unsynchronised: stratum 0"}, want: ReasonKoD},
		{name: "no reply", rejected: true, failed: []string{"no reply to any of 4 samples"}, want: ReasonNoReply},
		{name: "silent and blacklisted", rejected: true,
			failed: []string{"no reply to any of 4 samples", "blacklisted until 2026-12-02T00:00:00Z (first time: no reply in 3 runs in a row)"}, want: ReasonNoReply},
		{name: "blacklisted", rejected: true, failed: []string{"blacklisted until 2026-12-02T00:00:00Z (first time: falseticker)"}, want: ReasonBlacklisted},
		{name: "stratum", rejected: true, failed: []string{"stratum 9 outside 1..4"}, want: ReasonStratum},
		{name: "root distance", rejected: true, failed: []string{"root distance 2 s over the 1.5 s limit"}, want: ReasonRootDistance},
		{name: "nts", rejected: true, failed: []string{"nts: certificate signed by unknown authority"}, want: ReasonNTS},
		{name: "nts not checked", rejected: true, failed: []string{"nts: not checked (no pre-flight)"}, want: ReasonNTS},
		{name: "uncorroborated", rejected: true, failed: []string{"uncorroborated: +3.0 ms: no majority agrees on any time and …"}, want: ReasonUncorroborated},
		{name: "not measured", failed: []string{"not measured"}, want: ReasonNotMeasured},
		{name: "invalid", rejected: true, failed: []string{"invalid measurement: delay -1"}, want: ReasonOther},
		{name: "kept member with a failure", failed: []string{"no reply to any of 4 samples"}, want: ReasonNoReply},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ReasonClass(tc.failed, tc.rejected, tc.reason))
		})
	}
}
