package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "start a scenario's servers and serve until interrupted",
		ArgsUsage: "SCENARIO.toml",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "base", Value: ntplab.DefaultBase.String(), Usage: "first server address; the others follow it"},
			&cli.BoolFlag{Name: "spread", Usage: "put each server in its own /24 (base, base+256, ...), like independent networks"},
			&cli.UintFlag{Name: "port", Value: ntplab.DefaultPort, Usage: "UDP port for every server (0: an ephemeral port each)"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed for the servers' random draws (0: the scenario's, or random)"},
			&cli.BoolFlag{Name: "json", Usage: "print the servers as a JSON array instead of a table"},
			&cli.StringFlag{Name: "addresses-file", Usage: "also write one ADDRESS PORT NAME line per server to this file once serving"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("want one scenario file, got %d arguments", c.NArg())
			}
			sc, err := ntplab.Load(c.Args().First())
			if err != nil {
				return err
			}
			base, err := netip.ParseAddr(c.String("base"))
			if err != nil {
				return fmt.Errorf("--base: %w", err)
			}
			if c.Uint("port") > 65535 {
				return fmt.Errorf("--port %d: want 0..65535", c.Uint("port"))
			}
			lab, err := ntplab.Start(sc, ntplab.Options{Base: base, Port: uint16(c.Uint("port")), Seed: c.Uint64("seed"), Spread: c.Bool("spread")})
			if err != nil {
				return err
			}
			defer lab.Close()
			if err := printServers(c.App.Writer, lab, c.Bool("json")); err != nil {
				return err
			}
			if f := c.String("addresses-file"); f != "" {
				if err := writeAddresses(f, lab); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.App.ErrWriter, "ntplab: serving %d servers of %q (seed %d); stop with Ctrl-C\n", len(lab.Servers()), sc.Name, lab.Seed())
			<-c.Context.Done()
			printStats(c.App.ErrWriter, lab)
			return nil
		},
	}
}

// serverJSON is one server in `ntplab run --json`.
type serverJSON struct {
	Name      string  `json:"name"`
	Address   string  `json:"address"`
	Port      uint16  `json:"port"`
	Truth     string  `json:"truth"`
	Offset    float64 `json:"offset_s"`
	Delay     float64 `json:"delay_s"`
	Jitter    float64 `json:"jitter_s"`
	Asymmetry float64 `json:"asymmetry_s"`
	Loss      float64 `json:"loss"`
	Stratum   int     `json:"stratum"`
	KoD       string  `json:"kod,omitempty"`
}

func printServers(w io.Writer, lab *ntplab.Lab, asJSON bool) error {
	var rows []serverJSON
	for _, s := range lab.Servers() {
		p := s.Profile()
		rows = append(rows, serverJSON{Name: p.Name, Address: s.Addr().Addr().String(), Port: s.Addr().Port(),
			Truth: string(p.Truth), Offset: p.Offset.Seconds(), Delay: p.Delay.Seconds(), Jitter: p.Jitter.Seconds(),
			Asymmetry: p.Asymmetry.Seconds(), Loss: p.Loss, Stratum: p.Stratum, KoD: p.KoD})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tPORT\tTRUTH\tOFFSET\tDELAY\tJITTER\tLOSS\tSTRATUM")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%v\t%v\t%v\t%.0f%%\t%d\n", r.Name, r.Address, r.Port, r.Truth,
			dur(r.Offset), dur(r.Delay), dur(r.Jitter), 100*r.Loss, r.Stratum)
	}
	return tw.Flush()
}

func dur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// writeAddresses writes "ADDRESS PORT NAME" lines, atomically enough for a
// script polling for the file: written to a temp name, then renamed.
func writeAddresses(path string, lab *ntplab.Lab) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	for _, s := range lab.Servers() {
		fmt.Fprintf(f, "%s %d %s\n", s.Addr().Addr(), s.Addr().Port(), s.Profile().Name)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func printStats(w io.Writer, lab *ntplab.Lab) {
	for _, s := range lab.Servers() {
		st := s.Stats()
		fmt.Fprintf(w, "ntplab: %s: received %d, replied %d, kod %d, lost %d, rate-limited %d, closest gap %v\n",
			s.Profile().Name, st.Received, st.Replied, st.KoDSent, st.Lost, st.RateLimited, st.MinGap)
	}
}
