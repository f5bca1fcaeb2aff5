package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
)

// defaultChronyTimeout bounds a command's whole conversation with chronyd:
// chronyc's schedule of three transmissions waits 1 + 2 + 4 s.
const defaultChronyTimeout = 7 * time.Second

// chronyFlags are the flags of every command that talks to chronyd.
func chronyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "chrony-socket",
			Usage:   "chronyd's command socket (default: " + strings.Join(chronyctl.DefaultSockets, ", then ") + ")",
			EnvVars: []string{"NTP_OPTIMIZER_CHRONY_SOCKET"},
		},
		&cli.StringFlag{
			Name:    "chrony-address",
			Usage:   "chronyd's UDP command port(s), comma-separated, for read-only use when the socket cannot be used (e.g. not root)",
			Value:   strings.Join(chronyctl.DefaultUDPAddrs, ","),
			EnvVars: []string{"NTP_OPTIMIZER_CHRONY_ADDRESS"},
		},
		&cli.DurationFlag{
			Name:    "timeout",
			Usage:   "give up talking to chronyd after this long",
			Value:   defaultChronyTimeout,
			EnvVars: []string{"NTP_OPTIMIZER_TIMEOUT"},
		},
	}
}

// dialChrony connects to chronyd as the flags say, within a context
// bounded by --timeout; readOnly allows the UDP fallback. The caller calls
// done when finished.
func dialChrony(c *cli.Context, readOnly bool) (cl *chronyctl.Client, ctx context.Context, done func(), err error) {
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return nil, nil, nil, usageError(fmt.Errorf("--timeout %s: want a positive duration, e.g. 7s", timeout))
	}
	cfg := chronyctl.Config{
		Socket:      c.String("chrony-socket"),
		UDPFallback: readOnly,
		Logger:      logger(c),
	}
	for _, a := range strings.Split(c.String("chrony-address"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.UDPAddrs = append(cfg.UDPAddrs, a)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, usageError(err)
	}
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	cl, err = chronyctl.Dial(ctx, cfg)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	if fb := cl.Fallback(); fb != nil {
		fmt.Fprintf(c.App.ErrWriter, "ntp-optimizer: note: using chronyd's UDP command port %s, because %v\n",
			strings.TrimPrefix(cl.Remote(), "udp:"), fb)
	}
	return cl, ctx, func() { _ = cl.Close(); cancel() }, nil
}

// nameFlags are the Name/IP column flags of sources and status.
func nameFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "numeric", Aliases: []string{"n"}, Usage: "show addresses, no reverse DNS lookups (chronyc -n)"},
		&cli.BoolFlag{Name: "source-names", Aliases: []string{"N"}, Usage: "show the names sources were configured with (chronyc -N)"},
	}
}

// nameMode maps -n and -N to the Name/IP column mode.
func nameMode(c *cli.Context) chronyfmt.NameMode {
	switch {
	case c.Bool("source-names"):
		return chronyfmt.NamesConfigured
	case c.Bool("numeric"):
		return chronyfmt.NamesNumeric
	}
	return chronyfmt.NamesDNS
}
