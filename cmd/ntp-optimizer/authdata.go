package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
)

// authdataHeader is chronyc authdata's header (client.c
// process_cmd_authdata, the same in 4.0 to 4.8); a rule of '=' follows.
const authdataHeader = "Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen"

// authdataLegend is what chronyc authdata -v prints before the header.
const authdataLegend = "" +
	"                             .- Auth. mechanism (NTS, SK - symmetric key)\n" +
	"                            |   Key length -.  Cookie length (bytes) -.\n" +
	"                            |       (bits)  |  Num. of cookies --.    |\n" +
	"                            |               |  Key est. attempts  |   |\n" +
	"                            |               |           |         |   |\n"

func authdataCommand() *cli.Command {
	return &cli.Command{
		Name:  "authdata",
		Usage: "show how chronyd authenticates each source (NTS, symmetric key), as chronyc authdata",
		Description: "Reads chronyd's authentication state of every NTP source over its command\n" +
			"socket and prints it as chronyc authdata does: the mode (NTS, SK for a\n" +
			"symmetric key, - for none), the key ID, type and length, the time since\n" +
			"the last NTS key exchange, the key exchange attempts since, whether the\n" +
			"server sent an NTS NAK, and the NTS cookies held and their length. --json\n" +
			"prints the same for every NTP source, unresolved ones included. chronyd\n" +
			"4.0 to 4.6 gives authdata only on its Unix socket (root), not on the UDP\n" +
			"command port.",
		Flags: append(append([]cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print the legend (chronyc authdata -v)"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "include unresolved sources (chronyc authdata -a)"},
			&cli.BoolFlag{Name: "json", Usage: "print every NTP source's authdata as JSON"},
		}, nameFlags()...), chronyFlags()...),
		Action: runAuthdata,
		// Hidden from the command list until README's pasted --help
		// (TestREADMEHelpIsCurrent) lists it; "authdata --help" works.
	}
}

// authJSON is one source in authdata --json.
type authJSON struct {
	Address    chronyctl.Addr `json:"address"`
	Name       string         `json:"name"` // the configured name
	SourceMode chronyctl.Mode `json:"source_mode"`
	chronyctl.AuthData
}

func runAuthdata(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("authdata takes no arguments, got %q", c.Args().Slice()))
	}
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	cl, ctx, done, err := dialChrony(c, &l.Config, true)
	if err != nil {
		return err
	}
	defer done()
	parts := chronyctl.Parts(0)
	if c.Bool("json") || c.Bool("source-names") {
		parts = chronyctl.PartName
	}
	list, err := cl.AuthDataList(ctx, parts)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		out := make([]authJSON, 0, len(list))
		for _, s := range list {
			out = append(out, authJSON{Address: s.Source.Address, Name: s.Source.Name, SourceMode: s.Source.Mode, AuthData: s.Auth})
		}
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeAuthdata(ctx, c.App.Writer, list, chronyfmt.Options{
		Names: nameMode(c), All: c.Bool("all"), Verbose: c.Bool("verbose"),
	})
}

// writeAuthdata prints the table as chronyc authdata does: the legend with
// Verbose, the header and its rule, one row per NTP source in chronyd's
// order, unresolved (ID#) sources only with All.
func writeAuthdata(ctx context.Context, w io.Writer, list []chronyctl.SourceAuth, o chronyfmt.Options) error {
	var shown []chronyctl.SourceAuth
	for _, s := range list {
		if o.All || !s.Source.Address.IsID() {
			shown = append(shown, s)
		}
	}
	names, err := authdataNames(ctx, shown, o)
	if err != nil {
		return err
	}
	var b strings.Builder
	if o.Verbose {
		b.WriteString(authdataLegend)
	}
	b.WriteString(authdataHeader + "\n" + strings.Repeat("=", len(authdataHeader)) + "\n")
	for i, s := range shown {
		a := s.Auth
		fmt.Fprintf(&b, "%-27s %4s %5d %4d %4d %s %4d %4d %4d %4d\n", names[i], a.Mode.Column(), a.KeyID, a.KeyType,
			a.KeyLength, chronyfmt.Interval(a.LastKEAgo), a.KEAttempts, a.NAK, a.Cookies, a.CookieLength)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// authdataNames returns the Name/IP column of each source. chronyc formats
// it exactly as in its sources table (format_name with the same arguments
// for NTP sources: reverse DNS cut to 25 characters, -n the address, -N the
// configured name or "?"), so the names are taken from chronyfmt's sources
// table of the same sources, where each row's name starts at column 3 and
// holds no space (an empty configured name is blank).
func authdataNames(ctx context.Context, list []chronyctl.SourceAuth, o chronyfmt.Options) ([]string, error) {
	srcs := make([]chronyctl.Source, len(list))
	for i, s := range list {
		srcs[i] = s.Source
	}
	var b strings.Builder
	if err := chronyfmt.Sources(ctx, &b, srcs, chronyfmt.Options{Names: o.Names, Resolver: o.Resolver, All: true}); err != nil {
		return nil, err
	}
	rows := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")[2:] // after the header and its rule
	if len(rows) != len(srcs) {
		return nil, fmt.Errorf("internal error: %d names for %d sources", len(rows), len(srcs))
	}
	names := make([]string, len(rows))
	for i, row := range rows {
		rest := row[3:]
		if strings.HasPrefix(rest, strings.Repeat(" ", 27)) {
			continue // an empty configured name
		}
		if j := strings.IndexByte(rest, ' '); j >= 0 {
			rest = rest[:j]
		}
		names[i] = rest
	}
	return names, nil
}
