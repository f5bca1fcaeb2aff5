package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

func probeCommand() *cli.Command {
	def := prober.DefaultConfig()
	return &cli.Command{
		Name:      "probe",
		Usage:     "measure NTP servers and print the performance table (changes nothing)",
		ArgsUsage: "[SERVER...]",
		Description: "Sends a few NTP requests to every address of each SERVER (and of each line of\n" +
			"--servers-file), politely: at most 8 per address, at least 2 s apart for any\n" +
			"non-loopback address, all addresses in parallel. Prints offset, delay, jitter,\n" +
			"stratum and reachability per address, best (lowest jitter) first.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "samples", Value: def.Samples, Usage: fmt.Sprintf("requests per address, 1..%d", prober.MaxSamples), EnvVars: []string{"NTP_OPTIMIZER_SAMPLES"}},
			&cli.DurationFlag{Name: "spacing", Value: def.Spacing, Usage: "time between requests to one address (never under 2s off loopback)", EnvVars: []string{"NTP_OPTIMIZER_SPACING"}},
			&cli.DurationFlag{Name: "timeout", Value: def.Timeout, Usage: "longest wait for one reply", EnvVars: []string{"NTP_OPTIMIZER_TIMEOUT"}},
			&cli.StringFlag{Name: "servers-file", Usage: "file with one server per line (# starts a comment)", EnvVars: []string{"NTP_OPTIMIZER_SERVERS_FILE"}},
			&cli.IntFlag{Name: "port", Value: def.Port, Usage: "NTP port", EnvVars: []string{"NTP_OPTIMIZER_PORT"}},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON array, one object per address", EnvVars: []string{"NTP_OPTIMIZER_JSON"}},
		},
		Action: runProbe,
	}
}

func runProbe(c *cli.Context) error {
	cfg := prober.DefaultConfig()
	cfg.Samples, cfg.Spacing, cfg.Timeout, cfg.Port = c.Int("samples"), c.Duration("spacing"), c.Duration("timeout"), c.Int("port")
	cfg.FinalWaitMin = min(cfg.FinalWaitMin, cfg.Timeout)
	if err := cfg.Validate(); err != nil {
		return usageError(err)
	}
	names, err := probeNames(c.Args().Slice(), c.String("servers-file"))
	if err != nil {
		return err
	}
	p := prober.New(cfg, logger(c))
	if f, ok := c.App.ErrWriter.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.Progress = func(pr prober.Progress) {
			fmt.Fprintf(f, "\rprobing %d/%d addresses: %d requests sent, %d answered ", pr.AddressesDone, pr.Addresses, pr.SamplesSent, pr.SamplesOK)
		}
		defer fmt.Fprint(f, "\r\033[K")
	}
	targets := make([]prober.Target, len(names))
	for i, n := range names {
		targets[i] = prober.Target{Name: n}
	}
	results, err := p.Probe(c.Context, targets)
	if err != nil {
		return err
	}
	sortResults(results)
	if c.Bool("json") {
		err = writeProbeJSON(c.App.Writer, results)
	} else {
		err = writeProbeTable(c.App.Writer, results)
	}
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(results, func(r prober.Result) bool { return r.SamplesOK > 0 }) {
		return withCode(exitNoUsable, errors.New("no server answered"))
	}
	return nil
}

// probeNames validates the servers from the arguments and the file.
func probeNames(args []string, file string) ([]string, error) {
	var names []string
	for _, a := range args {
		if err := srvname.Validate(a); err != nil {
			return nil, usageError(err)
		}
		names = append(names, a)
	}
	if file != "" {
		fromFile, err := readServersFile(file)
		if err != nil {
			return nil, err
		}
		names = append(names, fromFile...)
	}
	if len(names) == 0 {
		return nil, usageError(errors.New("no servers: give SERVER arguments or --servers-file"))
	}
	return names, nil
}

// readServersFile reads one server per line; '#' starts a comment, blank
// lines are skipped, and a bad name is reported as FILE:LINE.
func readServersFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError(fmt.Errorf("--servers-file: %w", err))
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		switch len(fields) {
		case 0:
			continue
		case 1:
		default:
			return nil, usageError(fmt.Errorf("%s:%d: one server per line, got %q", path, line, strings.TrimSpace(text)))
		}
		if err := srvname.Validate(fields[0]); err != nil {
			return nil, usageError(fmt.Errorf("%s:%d: %w", path, line, err))
		}
		names = append(names, fields[0])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return names, nil
}

// sortResults orders by jitter (scoring will replace this); addresses with
// fewer than two answers, unsynchronised or KoD ones come after those, and
// unreachable ones last; ties by delay, then name and address.
func sortResults(rs []prober.Result) {
	rank := func(r prober.Result) int {
		switch {
		case r.SamplesOK >= 2 && !r.Unsynchronized && r.KoD == "":
			return 0
		case r.SamplesOK >= 1:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rs, func(a, b prober.Result) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Jitter, b.Jitter), cmp.Compare(a.Delay, b.Delay),
			strings.Compare(a.Server, b.Server), a.Address.Compare(b.Address))
	})
}

func writeProbeJSON(w io.Writer, rs []prober.Result) error {
	out := make([]prober.JSONResult, len(rs))
	for i, r := range rs {
		out[i] = r.JSON()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeProbeTable(w io.Writer, rs []prober.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Rank\tServer\tAddress\tOffset(ms)\tDelay(ms)\tJitter(ms)\tStratum\tReach(%)\tNote\t")
	for i, r := range rs {
		addr, off, delay, jit, stratum := "-", "-", "-", "-", "-"
		if r.Address.IsValid() {
			addr = r.Address.String()
		}
		if r.SamplesOK > 0 {
			off = fmt.Sprintf("%+.3f", r.Offset.Seconds()*1e3)
			delay = fmt.Sprintf("%.3f", r.Delay.Seconds()*1e3)
			stratum = fmt.Sprint(r.Stratum)
		}
		if r.SamplesOK > 1 {
			jit = fmt.Sprintf("%.3f", r.Jitter.Seconds()*1e3)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t\n", i+1, r.Server, addr, off, delay, jit, stratum, 100*r.Reach, note(r))
	}
	return tw.Flush()
}

// note says what an operator should know beyond the numbers.
func note(r prober.Result) string {
	var n []string
	if r.Unsynchronized {
		n = append(n, "unsynchronised")
	}
	if r.KoD != "" {
		n = append(n, "KoD "+r.KoD)
	}
	if r.Err != "" && r.KoD == "" {
		n = append(n, r.Err)
	}
	return strings.Join(n, "; ")
}
