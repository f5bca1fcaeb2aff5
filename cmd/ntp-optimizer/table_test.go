package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// TestCandidateTableAuth: the Auth column says NTS for a server used with
// NTS and - for plain NTP, beside the address, and keeps the columns
// aligned whatever the rows hold; a failed pre-flight is the reason.
func TestCandidateTableAuth(t *testing.T) {
	row := func(rank int, addr, auth, authErr string, ok int, v scoring.Verdict, reason string) agent.CandidateReport {
		return agent.CandidateReport{Candidate: scoring.Candidate{Rank: rank, Score: 97.25, Verdict: v, Reason: reason,
			ReachRatio: float64(ok) / 4,
			Measurement: scoring.Measurement{Address: netip.MustParseAddr(addr), Name: addr, Auth: auth, AuthError: authErr,
				SamplesSent: 4, SamplesOK: ok, Offset: 0.000256, Delay: 0.0078, Jitter: 0.000088, Stratum: 2}}}
	}
	var b bytes.Buffer
	require.NoError(t, writeCandidateTable(&b, []agent.CandidateReport{
		row(1, "127.0.21.1", "nts", "", 4, scoring.Selected, "selected: score 97.2, rank 1"),
		row(2, "127.0.22.1", "", "", 4, scoring.Selected, "selected: score 97.2, rank 2"),
		row(3, "127.0.23.1", "nts", "nts: NAK", 0, scoring.Rejected, "nts: NAK"),
	}))
	require.Equal(t, ""+
		"Rank  Server      Address     Auth  Offset(ms)  Delay(ms)  Jitter(ms)  Stratum  Reach(%)  Score  Verdict   Reason\n"+
		"1     127.0.21.1  127.0.21.1  NTS   +0.256      7.800      0.088       2        100.0     97.25  selected  selected: score 97.2, rank 1\n"+
		"2     127.0.22.1  127.0.22.1  -     +0.256      7.800      0.088       2        100.0     97.25  selected  selected: score 97.2, rank 2\n"+
		"3     127.0.23.1  127.0.23.1  NTS   -           -          -           -        0.0       -      rejected  nts: NAK\n",
		b.String())

	header := strings.Split(b.String(), "\n")[0]
	for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		require.Equal(t, strings.Index(header, "Offset(ms)"), strings.Index(line, strings.Fields(line)[4]),
			"row %d: the column after Auth starts where its header does", i)
	}
}

func TestTableAuth(t *testing.T) {
	for _, tc := range []struct{ name, auth, want string }{
		{"nts", "nts", "NTS"},
		{"plain", "", "-"},
		{"unknown", "symmetric", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tableAuth(tc.auth))
		})
	}
}
