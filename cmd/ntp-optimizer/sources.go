package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
)

func sourcesCommand() *cli.Command {
	return &cli.Command{
		Name:  "sources",
		Usage: "list chronyd's sources in the layout of chronyc sources",
		Description: "Reads chronyd's sources over its command socket and prints them as\n" +
			"chronyc sources does. --json prints every field ntp-optimizer reads per\n" +
			"source (sourcedata, sourcestats, ntpdata, selectdata and the configured\n" +
			"name). Without access to the socket (not root) it falls back to chronyd's\n" +
			"UDP command port, where chronyd does not give ntpdata and selectdata.",
		Flags: append(append([]cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print the legend (chronyc sources -v)"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "include unresolved sources (chronyc sources -a)"},
			&cli.BoolFlag{Name: "json", Usage: "print the full merged view of every source as JSON"},
		}, nameFlags()...), chronyFlags()...),
		Action: runSources,
	}
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
	if !c.Bool("json") {
		return chronyfmt.Sources(ctx, c.App.Writer, srcs, chronyfmt.Options{
			Names: nameMode(c), All: c.Bool("all"), Verbose: c.Bool("verbose"),
		})
	}
	if missing := missingParts(srcs); len(missing) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "ntp-optimizer: note: chronyd did not give %s over %s; those fields are empty (see \"has\")\n",
			strings.Join(missing, " and "), cl.Remote())
	}
	return writeJSON(c.App.Writer, struct {
		Sources []chronyctl.Source `json:"sources"`
	}{srcs})
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
