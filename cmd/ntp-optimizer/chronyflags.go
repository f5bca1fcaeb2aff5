package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
	"github.com/ntp-optimizer/ntp-optimizer/config"
)

// chronyFlags are the flags of every command that talks to chronyd.
func chronyFlags() []cli.Flag {
	return config.Flags("paths.chrony_socket", "paths.chrony_address", "chrony.timeout")
}

// dialChrony connects to chronyd as the configuration says, within a
// context bounded by chrony.timeout; readOnly allows the UDP fallback. The
// caller calls done when finished.
func dialChrony(c *cli.Context, cfg *config.Config, readOnly bool) (cl *chronyctl.Client, ctx context.Context, done func(), err error) {
	cc := chronyctl.Config{
		Socket:      cfg.Paths.ChronySocket,
		UDPFallback: readOnly,
		Logger:      logger(c),
	}
	for _, a := range strings.Split(cfg.Paths.ChronyAddress, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cc.UDPAddrs = append(cc.UDPAddrs, a)
		}
	}
	if err := cc.Validate(); err != nil {
		return nil, nil, nil, usageError(err)
	}
	ctx, cancel := context.WithTimeout(c.Context, cfg.Chrony.Timeout.D())
	cl, err = chronyctl.Dial(ctx, cc)
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
