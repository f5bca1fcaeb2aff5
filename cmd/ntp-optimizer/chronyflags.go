package main

import (
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronyfmt"
	"github.com/ntp-optimizer/ntp-optimizer/config"
)

// chronyFlags are the flags of every command that talks to chronyd.
func chronyFlags() []cli.Flag {
	return config.Flags("paths.chrony_socket", "paths.chrony_address", "chrony.timeout")
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
