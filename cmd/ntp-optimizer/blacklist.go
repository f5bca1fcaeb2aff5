package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/config"
)

func blacklistCommand() *cli.Command {
	return &cli.Command{
		Name:  "blacklist",
		Usage: "list the blacklisted servers and the failures counting toward it, or clear entries",
		Description: "A server is blacklisted when it did not reply in blacklist_after_runs runs in a\n" +
			"row while, in each, at least half of the servers measured the same way (probe\n" +
			"or chronyd, itself included) answered; or at once for a kiss-o'-death DENY or\n" +
			"RSTR. Each repeat doubles the term (1 day, up to 30). Blacklisted addresses are\n" +
			"neither probed nor selected. These commands read and change only the state\n" +
			"directory, never the NTP daemon.",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "show the blacklist's entries with their evidence, and the failures counting toward it",
				Description: "Prints one line per active entry (address, server, kind, since, until, count,\n" +
					"reason) with its evidence indented below, then the addresses not answering\n" +
					"that have not reached blacklist_after_runs yet. Times are UTC.",
				Flags: append(config.Flags("paths.state_dir"),
					&cli.BoolFlag{Name: "all", Aliases: []string{"a"},
						Usage: "also show the entries that ended (expired or lifted), kept so a repeat doubles the term"},
					&cli.BoolFlag{Name: "json", Usage: "print the entries and failure counts as JSON"},
				),
				Action: runBlacklistList,
			},
			{
				Name:      "clear",
				Usage:     "lift blacklist entries now, by address or server name, or all of them",
				ArgsUsage: "[SERVER...]",
				Description: "SERVER is an address or the server name an entry records (a name lifts every\n" +
					"address listed under it). A name that is not on the blacklist is an error and\n" +
					"nothing is cleared. A lifted entry is kept, ended, so a repeat still doubles\n" +
					"the term. Waits for a run in progress, as apply does; the NTP daemon is not\n" +
					"touched: the next run measures the server again.",
				Flags: append(config.Flags("paths.state_dir"),
					&cli.BoolFlag{Name: "all", Usage: "lift every active entry"},
				),
				Action: runBlacklistClear,
			},
		},
	}
}

// blacklistReport is `blacklist list --json`.
type blacklistReport struct {
	agent.BlacklistView
	After int `json:"blacklist_after_runs"`
}

func runBlacklistList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("blacklist list takes no arguments, got %q", c.Args().Slice()))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	st, moved, err := (&agent.Store{Dir: l.Config.Paths.StateDir, Logger: logger(c)}).PeekState()
	if err != nil {
		return err
	}
	for _, m := range moved {
		fmt.Fprintf(c.App.ErrWriter, "ntp-optimizer: warning: %s\n", m)
	}
	rep := blacklistReport{BlacklistView: agent.Blacklist(&st.Scoring, clockOf(c).Now(), c.Bool("all")),
		After: l.Config.Selection.BlacklistAfter}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, rep)
	}
	return writeBlacklist(c.App.Writer, &rep, c.Bool("all"))
}

// blTime is the blacklist's time format: RFC 3339 in UTC.
func blTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// evidenceIndent starts each evidence line under its table row.
const evidenceIndent = "    "

// writeBlacklist prints the entries and the failure counts as tables, each
// row followed by its evidence lines, indented.
func writeBlacklist(w io.Writer, r *blacklistReport, all bool) error {
	which := "blacklisted"
	if all {
		which = "on the blacklist (active or ended)"
	}
	if len(r.Entries) == 0 {
		fmt.Fprintf(w, "no server is %s\n", which)
	} else {
		rows := [][]string{{"Address", "Server", "Kind", "Since", "Until", "Count", "Reason"}}
		evidence := [][]string{nil}
		for _, e := range r.Entries {
			until := blTime(e.Until)
			switch {
			case !e.Lifted.IsZero() && !e.Active:
				until += " (lifted)"
			case !e.Active:
				until += " (expired)"
			}
			kind := e.Kind
			if kind == "" {
				kind = "-"
			}
			rows = append(rows, []string{e.Address.String(), e.Name, kind, blTime(e.Since), until,
				fmt.Sprint(e.Count), e.Reason})
			evidence = append(evidence, e.Evidence)
		}
		if err := writeRowsWithEvidence(w, rows, evidence); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if len(r.Failures) == 0 {
		_, err := fmt.Fprintln(w, "no failures counting toward the blacklist")
		return err
	}
	fmt.Fprintf(w, "Counting toward the blacklist (blacklisted after %d runs in a row without a reply):\n", r.After)
	rows := [][]string{{"Address", "Runs"}}
	evidence := [][]string{nil}
	for _, f := range r.Failures {
		rows = append(rows, []string{f.Address.String(), fmt.Sprintf("%d of %d", f.Runs, r.After)})
		evidence = append(evidence, f.Evidence)
	}
	return writeRowsWithEvidence(w, rows, evidence)
}

// writeRowsWithEvidence aligns rows in columns and writes each row's
// evidence lines, indented, below it. The lines go in after tabwriter has
// aligned the rows, so they do not break the columns.
func writeRowsWithEvidence(w io.Writer, rows, evidence [][]string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var out strings.Builder
	for i, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		out.WriteString(line)
		if i < len(evidence) {
			for _, e := range evidence[i] {
				out.WriteString(evidenceIndent + e + "\n")
			}
		}
	}
	_, err := io.WriteString(w, out.String())
	return err
}

func runBlacklistClear(c *cli.Context) error {
	servers, all := c.Args().Slice(), c.Bool("all")
	switch {
	case all && len(servers) > 0:
		return usageError(fmt.Errorf("blacklist clear: name servers or give --all, not both (got --all and %q)", servers))
	case !all && len(servers) == 0:
		return usageError(errors.New("blacklist clear: name the servers to clear (address or name), or give --all"))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	store := &agent.Store{Dir: l.Config.Paths.StateDir, Logger: logger(c), Clock: clockOf(c)}
	cleared, err := store.ClearBlacklist(c.Context, agent.DefaultLockWait, servers, all)
	switch {
	case errors.Is(err, agent.ErrNotListed), errors.Is(err, agent.ErrInput):
		return usageError(err)
	case err != nil:
		return err
	}
	return writeCleared(c.App.Writer, cleared, all)
}

// writeCleared says what clear did, one line per entry.
func writeCleared(w io.Writer, cleared []agent.Cleared, all bool) error {
	if all && len(cleared) == 0 {
		_, err := fmt.Fprintln(w, "no server is blacklisted: nothing cleared")
		return err
	}
	n := 0
	for _, c := range cleared {
		e := c.Entry
		who := c.Address.String()
		if e.Name != "" && e.Name != who {
			who += " (" + e.Name + ")"
		}
		if !c.Lifted {
			fmt.Fprintf(w, "%s: not blacklisted (its term ended %s): nothing to clear\n", who, blTime(e.Until))
			continue
		}
		n++
		fmt.Fprintf(w, "cleared %s: %s, blacklisted since %s until %s; kept, ended, so a repeat doubles the term (%s so far)\n",
			who, e.Reason, blTime(e.Since), blTime(e.Until), times(e.Count))
	}
	var err error
	switch n {
	case 0:
		_, err = fmt.Fprintln(w, "nothing cleared")
	case 1:
		_, err = fmt.Fprintln(w, "1 entry cleared; the next run measures it again")
	default:
		_, err = fmt.Fprintf(w, "%d entries cleared; the next run measures them again\n", n)
	}
	return err
}

// times is "once", "2 times", ...
func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
