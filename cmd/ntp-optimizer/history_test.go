package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// historyCand is a candidate of a stored run.
func historyCand(addr string, score float64, ok int, v scoring.Verdict) agent.CandidateReport {
	return agent.CandidateReport{Candidate: scoring.Candidate{Score: score, Verdict: v,
		Measurement: scoring.Measurement{Address: netip.MustParseAddr(addr), Name: addr, SamplesSent: 4, SamplesOK: ok,
			Offset: 0.001, Jitter: 0.0002}}}
}

// TestHistoryOutage: an outage run is drawn × in the sparkline and left
// out of the server's figures (it says nothing about the server); the
// header counts the outages and names the latest one.
func TestHistoryOutage(t *testing.T) {
	dir := t.TempDir()
	s := &agent.Store{Dir: dir, Logger: zerolog.Nop()}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := func(id string, at time.Duration) *agent.Report {
		return &agent.Report{RunID: id, Time: now.Add(at), Outcome: agent.OutcomeUnchanged, Candidates: []agent.CandidateReport{
			historyCand("192.0.2.2", 100, 4, scoring.Selected), historyCand("192.0.2.1", 50, 4, scoring.Standby)}}
	}
	outage := func(id string, at time.Duration) *agent.Report {
		return &agent.Report{RunID: id, Time: now.Add(at), Outcome: agent.OutcomeOutage,
			Reason: "network outage: none of the 2 servers probed answered", Candidates: []agent.CandidateReport{
				historyCand("192.0.2.1", 0, 0, scoring.Rejected), historyCand("192.0.2.2", 0, 0, scoring.Rejected)}}
	}
	for _, r := range []*agent.Report{ok("r1", -18*time.Hour), outage("r2", -12*time.Hour), ok("r3", -6*time.Hour),
		outage("r4", -time.Hour)} {
		if r.RunID == "r4" { // a server seen only in an outage
			r.Candidates = append(r.Candidates, historyCand("192.0.2.3", 0, 0, scoring.Rejected))
		}
		require.NoError(t, s.SaveRun(r))
	}
	out, stderr, code := runAt(t, now, "history", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Equal(t, ""+
		"4 runs from 2026-02-28 18:00:00 to 2026-03-01 11:00:00 UTC\n"+
		"2 of them outages (×: nothing answered; nothing was changed or counted)\n"+
		"the latest run was an outage: network outage: none of the 2 servers probed answered\n"+
		"\n"+
		"Server     Address    Runs  Score  Trend (score)  Offset(ms)  Jitter(ms)  Selected  Now       Auth\n"+
		"192.0.2.2  192.0.2.2  2     100.0  █×█×           +1.000      0.200       2/2       selected  -\n"+
		"192.0.2.1  192.0.2.1  2     50.0   ▅×▅×           +1.000      0.200       0/2       standby   -\n"+
		"192.0.2.3  192.0.2.3  0     -      ×              -           -           0/0       -         -\n", out,
		"ordered by the latest run that was not an outage")

	out, stderr, code = runAt(t, now, "history", "--json", "--state-dir", dir, "192.0.2.2")
	require.Zero(t, code, stderr)
	var trends []struct {
		Address string `json:"address"`
		Runs    []struct {
			RunID    string `json:"run_id"`
			Measured bool   `json:"measured"`
			Outage   bool   `json:"outage"`
		} `json:"runs"`
	}
	jsonList(t, out, "history", "servers", &trends)
	require.Len(t, trends, 1)
	require.Len(t, trends[0].Runs, 4)
	for i, p := range trends[0].Runs {
		require.Equal(t, i%2 == 1, p.Outage, "run %s", p.RunID)
	}
	require.NotContains(t, out, `"outage": false`, "only outage runs are marked")

	// Without outages the header is as before.
	dir = t.TempDir()
	s.Dir = dir
	require.NoError(t, s.SaveRun(ok("r1", -time.Hour)))
	out, stderr, code = runAt(t, now, "history", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.NotContains(t, out, "outage")
	require.Contains(t, out, "1 runs from 2026-03-01 11:00:00 to 2026-03-01 11:00:00 UTC\n\nServer")
}

// TestHistoryAuth: Auth is the server's authentication in its latest run
// that was not an outage, read from the stored candidates; --json marks
// each run's point "auth": "nts" and leaves it out for plain NTP.
func TestHistoryAuth(t *testing.T) {
	dir := t.TempDir()
	s := &agent.Store{Dir: dir, Logger: zerolog.Nop()}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	nts := func(c agent.CandidateReport) agent.CandidateReport {
		c.Auth = "nts"
		return c
	}
	runs := []*agent.Report{
		{RunID: "r1", Time: now.Add(-3 * time.Hour), Outcome: agent.OutcomeApplied, Candidates: []agent.CandidateReport{
			nts(historyCand("192.0.2.1", 90, 4, scoring.Selected)), historyCand("192.0.2.2", 95, 4, scoring.Selected),
			historyCand("192.0.2.3", 80, 4, scoring.Standby)}},
		// 192.0.2.3 becomes NTS (listed "NAME nts" from now on);
		// 192.0.2.1 is plain in the outage, which does not count.
		{RunID: "r2", Time: now.Add(-2 * time.Hour), Outcome: agent.OutcomeUnchanged, Candidates: []agent.CandidateReport{
			nts(historyCand("192.0.2.1", 90, 4, scoring.Selected)), historyCand("192.0.2.2", 95, 4, scoring.Selected),
			nts(historyCand("192.0.2.3", 80, 4, scoring.Standby))}},
		{RunID: "r3", Time: now.Add(-time.Hour), Outcome: agent.OutcomeOutage, Reason: "network outage", Candidates: []agent.CandidateReport{
			historyCand("192.0.2.1", 0, 0, scoring.Rejected), historyCand("192.0.2.2", 0, 0, scoring.Rejected),
			historyCand("192.0.2.3", 0, 0, scoring.Rejected)}},
	}
	for _, r := range runs {
		require.NoError(t, s.SaveRun(r))
	}
	out, stderr, code := runAt(t, now, "history", "--state-dir", dir)
	require.Zero(t, code, stderr)
	require.Equal(t, ""+
		"3 runs from 2026-03-01 09:00:00 to 2026-03-01 11:00:00 UTC\n"+
		"1 of them outages (×: nothing answered; nothing was changed or counted)\n"+
		"the latest run was an outage: network outage\n"+
		"\n"+
		"Server     Address    Runs  Score  Trend (score)  Offset(ms)  Jitter(ms)  Selected  Now       Auth\n"+
		"192.0.2.2  192.0.2.2  2     95.0   ██×            +1.000      0.200       2/2       selected  -\n"+
		"192.0.2.1  192.0.2.1  2     90.0   ▇▇×            +1.000      0.200       2/2       selected  NTS\n"+
		"192.0.2.3  192.0.2.3  2     80.0   ▇▇×            +1.000      0.200       0/2       standby   NTS\n", out)

	out, stderr, code = runAt(t, now, "history", "--json", "--state-dir", dir, "192.0.2.3")
	require.Zero(t, code, stderr)
	var trends []struct {
		Runs []struct {
			RunID string `json:"run_id"`
			Auth  string `json:"auth"`
		} `json:"runs"`
	}
	jsonList(t, out, "history", "servers", &trends)
	require.Len(t, trends, 1)
	var got []string
	for _, p := range trends[0].Runs {
		got = append(got, p.RunID+":"+p.Auth)
	}
	require.Equal(t, []string{"r1:", "r2:nts", "r3:"}, got)
	require.Equal(t, 1, strings.Count(out, `"auth"`), "left out for plain NTP")
}
