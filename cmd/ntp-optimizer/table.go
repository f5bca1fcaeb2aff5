package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
)

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeCandidateTable prints the performance table: the seed's columns
// (Rank Server Offset(ms) Jitter(ms) Stratum Reach(%) Score) plus the
// address, the authentication (NTS, or - for plain NTP), delay, verdict and
// reason. Auth sits beside the address: it is how the server is reached,
// not a measurement; a failed NTS pre-flight is the reason.
func writeCandidateTable(w io.Writer, rs []agent.CandidateReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Rank\tServer\tAddress\tAuth\tOffset(ms)\tDelay(ms)\tJitter(ms)\tStratum\tReach(%)\tScore\tVerdict\tReason")
	for _, r := range rs {
		addr, off, delay, jit, stratum, score := "-", "-", "-", "-", "-", "-"
		if r.Address.IsValid() {
			addr = r.Address.String()
		}
		if r.SamplesOK > 0 {
			off = fmt.Sprintf("%+.3f", r.Offset*1e3)
			delay = fmt.Sprintf("%.3f", r.Delay*1e3)
			stratum = fmt.Sprint(r.Stratum)
			score = fmt.Sprintf("%.2f", r.Score)
		}
		if r.SamplesOK > 1 {
			jit = fmt.Sprintf("%.3f", r.Jitter*1e3)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\n", r.Rank, r.Name, addr, tableAuth(r.Auth),
			off, delay, jit, stratum, 100*r.ReachRatio, score, r.Verdict, tableReason(r.Reason))
	}
	return tw.Flush()
}

// tableReason is a candidate's reason as the table shows it: why the
// measurement gave its verdict. Scoring words a current source's as the
// decision ("removed: no reply ..."), but whether anything was removed is
// the run's outcome (not in an outage, a dry run or a rollback; not when
// kept for safety), which the lines below the table say.
func tableReason(reason string) string {
	return strings.TrimPrefix(reason, "removed: ")
}

// tableAuth is a candidate's authentication as the table shows it: NTS for
// a server used with Network Time Security, - for plain NTP.
func tableAuth(auth string) string {
	if auth == discovery.AuthNTS {
		return "NTS"
	}
	return "-"
}
