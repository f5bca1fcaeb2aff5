package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
)

// jsonSchemaVersion is the layout version of every --json document
// (docs/schemas/*.schema.json). It changes when a key is renamed or
// removed or its meaning changes; adding a key does not change it.
const jsonSchemaVersion = 1

// writeJSON prints v, which must marshal to a JSON object, as indented
// JSON with "schema_version" as its first key. Lists are printed inside an
// object under their name ({"schema_version": 1, "sources": […]}), so
// every document can carry the version. Keys follow one convention:
// snake_case, and times and durations in seconds end in _s.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' {
		return fmt.Errorf("internal error: a --json document must be an object, not %.20s", b)
	}
	head := fmt.Sprintf(`{"schema_version":%d`, jsonSchemaVersion)
	if len(b) > 2 {
		head += ","
	}
	var out bytes.Buffer
	if err := json.Indent(&out, append([]byte(head), b[1:]...), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
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
