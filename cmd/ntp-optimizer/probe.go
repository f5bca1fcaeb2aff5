package main

import (
	"errors"
	"os"
	"slices"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

func probeCommand() *cli.Command {
	flags := config.Flags("testing.samples_per_server", "testing.spacing", "testing.timeout", "servers_files", "selection")
	flags = append(flags,
		&cli.IntFlag{Name: "port", Value: prober.DefaultConfig().Port, Usage: "NTP port of servers given without one"},
		&cli.BoolFlag{Name: "json", Usage: "print the candidates as JSON, one object per address"},
	)
	return &cli.Command{
		Name:      "probe",
		Usage:     "measure NTP servers and print the performance table (changes nothing)",
		ArgsUsage: "[SERVER...]",
		Description: "Sends a few NTP requests to every address of each SERVER (and of each line of\n" +
			"--servers-file), politely: at most 8 per address, at least 2 s apart for any\n" +
			"non-loopback address, all addresses in parallel. Scores every address as apply\n" +
			"would (the [selection] settings) and prints offset, delay, jitter, stratum,\n" +
			"reachability, score, verdict and the reason, best first. SERVER is a name or\n" +
			"address, optionally with :PORT ([v6]:PORT).",
		Flags:  flags,
		Action: runProbe,
	}
}

func runProbe(c *cli.Context) error {
	l, err := loadConfig(c)
	if err != nil {
		return err
	}
	cfg := l.Config
	pc := cfg.Prober()
	pc.Port = c.Int("port")
	if err := pc.Validate(); err != nil {
		return usageError(err)
	}

	// The servers to probe: the arguments and --servers-file, parsed and
	// validated as every server list is (errors name file and line).
	dc := discovery.DefaultConfig()
	dc.NoDiscovery, dc.Servers, dc.ServersFiles = true, c.Args().Slice(), cfg.ServersFiles
	dc.MaxCandidates = discovery.MaxCandidates
	if err := dc.Validate(); err != nil {
		return usageError(err)
	}
	disc := &discovery.Discoverer{Log: logger(c).Level(zerolog.WarnLevel)}
	found, err := disc.Discover(c.Context, dc, nil)
	if err != nil {
		return usageError(err)
	}
	if len(found.Candidates) == 0 {
		return usageError(errors.New("no servers: give SERVER arguments or --servers-file"))
	}

	p := prober.New(pc, logger(c))
	var progress *progressLine
	if f, ok := c.App.ErrWriter.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		progress = progressOf(c, f)
		p.Progress = progress.Show
	}
	results, err := p.Probe(c.Context, agent.Targets(found.Candidates), prober.RunOptions{})
	progress.Clear() // before the table, on the same terminal
	if err != nil {
		return err
	}
	ev, err := agent.Evaluate(agent.EvalInput{Probes: results, Candidates: found.Candidates},
		scoring.State{}, clockOf(c).Now(), cfg.Scoring())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		err = writeJSON(c.App.Writer, struct {
			Candidates []agent.CandidateReport `json:"candidates"`
		}{ev.Reports})
	} else {
		err = writeCandidateTable(c.App.Writer, ev.Reports)
	}
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(results, func(r prober.Result) bool { return r.SamplesOK > 0 }) {
		return withCode(exitNoUsable, errors.New("no server answered"))
	}
	return nil
}
