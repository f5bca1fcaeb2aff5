package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
	"github.com/ntp-optimizer/ntp-optimizer/config"
)

func sourcesCommand() *cli.Command {
	return &cli.Command{
		Name:  "sources",
		Usage: "list chronyd's sources in the layout of chronyc sources",
		Description: "Reads chronyd's sources over its command socket and prints them as\n" +
			"chronyc sources does. --json prints every field ntp-optimizer reads per\n" +
			"source (sourcedata, sourcestats, ntpdata, selectdata and the configured\n" +
			"name). Without access to the socket (not root) it falls back to chronyd's\n" +
			"UDP command port, where chronyd does not give ntpdata and selectdata.\n\n" +
			"Sources a run of apply added under audition (noselect: chronyd measures them,\n" +
			"never uses them for time, and the run promotes or deletes them) are named in a\n" +
			"note on standard error, and under \"auditions\" in --json; the table stays\n" +
			"chronyc's.",
		Flags: append(append(append([]cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print the legend (chronyc sources -v)"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "include unresolved sources (chronyc sources -a)"},
			&cli.BoolFlag{Name: "json", Usage: "print the full merged view of every source as JSON"},
		}, nameFlags()...), chronyFlags()...), config.Flags("paths.state_dir")...),
		Action: runSources,
	}
}

// audition is a source chronyd has that a run added under audition.
type audition struct {
	Address string    `json:"address"`
	Server  string    `json:"server"`
	AddedAt time.Time `json:"added_at"`
	RunID   string    `json:"run_id"`
}

// auditions returns the sources in srcs that the agent's state says a run
// added under audition, by address. The state is only read: when it is
// not there or not readable (not root), there are none to show.
func auditions(c *cli.Context, srcs []chronyctl.Source) []audition {
	l, err := loadConfig(c)
	if err != nil {
		return nil
	}
	log := logger(c)
	st, _, err := (&agent.Store{Dir: l.Config.Paths.StateDir, Logger: log}).PeekState()
	if err != nil {
		log.Debug().Err(err).Msg("agent state not readable: auditions not shown")
		return nil
	}
	var out []audition
	for _, s := range srcs {
		if m, ok := st.Auditions[s.Address.IP.String()]; ok && s.Address.IP.IsValid() {
			out = append(out, audition{Address: s.Address.IP.String(), Server: m.Name, AddedAt: m.AddedAt, RunID: m.RunID})
		}
	}
	return out
}

// auditionNote says which of chronyd's sources are under audition and what
// becomes of them.
func auditionNote(w io.Writer, as []audition) {
	if len(as) == 0 {
		return
	}
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Address
		if a.Server != "" && a.Server != a.Address {
			names[i] += " (" + a.Server + ")"
		}
	}
	fmt.Fprintf(w, "ntp-optimizer: note: under audition since %s (run %s): %s; chronyd measures them as noselect "+
		"sources and never uses them for time; the run promotes its winners and deletes the rest (one that was "+
		"interrupted leaves them to the next run or to apply --cleanup)\n",
		as[0].AddedAt.UTC().Format(time.RFC3339), as[0].RunID, strings.Join(names, ", "))
}

func runSources(c *cli.Context) error {
	cl, ctx, done, err := readChrony(c)
	if err != nil {
		return err
	}
	defer done()
	parts := chronyctl.Parts(0)
	switch {
	case c.Bool("json"):
		parts = chronyctl.PartAll
	case c.Bool("source-names"):
		parts = chronyctl.PartName
	}
	srcs, err := cl.SourcesParts(ctx, parts)
	if err != nil {
		return err
	}
	aud := auditions(c, srcs)
	if !c.Bool("json") {
		if err := chronyfmt.Sources(ctx, c.App.Writer, srcs, chronyfmt.Options{
			Names: nameMode(c), All: c.Bool("all"), Verbose: c.Bool("verbose"),
		}); err != nil {
			return err
		}
		auditionNote(c.App.ErrWriter, aud)
		return nil
	}
	if missing := missingParts(srcs); len(missing) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "ntp-optimizer: note: chronyd did not give %s over %s; those fields are empty (see \"has\")\n",
			strings.Join(missing, " and "), cl.Remote())
	}
	return writeJSON(c.App.Writer, struct {
		Sources   []chronyctl.Source `json:"sources"`
		Auditions []audition         `json:"auditions"`
	}{srcs, append([]audition{}, aud...)})
}

// missingParts names the parts chronyd refused for every NTP source that
// should have them (e.g. ntpdata and selectdata over UDP).
func missingParts(srcs []chronyctl.Source) []string {
	var ntp, sel, seen bool
	for _, s := range srcs {
		if s.Mode == chronyctl.ModeRefclock || !s.Address.IP.IsValid() {
			continue
		}
		seen = true
		ntp = ntp || s.Has.NTPData
		sel = sel || s.Has.Select
	}
	var missing []string
	if seen && !ntp {
		missing = append(missing, "ntpdata")
	}
	if seen && !sel {
		missing = append(missing, "selectdata")
	}
	return missing
}
