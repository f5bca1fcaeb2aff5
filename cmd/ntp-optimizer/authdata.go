package main

import (
	"context"
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
	cl, ctx, done, err := readChrony(c)
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
		return writeJSON(c.App.Writer, struct {
			Sources []authJSON `json:"sources"`
		}{out})
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
	srcs := make([]chronyctl.Source, len(shown))
	for i, s := range shown {
		srcs[i] = s.Source
	}
	names := chronyfmt.SourceNames(ctx, srcs, o)
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
	_, err := io.WriteString(w, b.String())
	return err
}
