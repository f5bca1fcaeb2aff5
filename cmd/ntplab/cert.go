package main

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
)

func certCommand() *cli.Command {
	return &cli.Command{
		Name:  "cert",
		Usage: "write a self-signed certificate and key for a lab NTS server (no openssl needed)",
		Description: "Writes DIR/NAME.crt and DIR/NAME.key (mode 0600): an ECDSA P-256 certificate\n" +
			"for the --ip addresses and --dns names (subjectAltName) that is its own trust\n" +
			"anchor. Give chronyd the pair as ntsservercert and ntsserverkey, and a client\n" +
			"the .crt as ntstrustedcerts. Prints the two paths.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "ip", Usage: "subjectAltName IP address (repeatable)"},
			&cli.StringSliceFlag{Name: "dns", Usage: "subjectAltName DNS name (repeatable)"},
			&cli.StringFlag{Name: "dir", Required: true, Usage: "directory to write to (created 0700 when missing)"},
			&cli.StringFlag{Name: "name", Value: "nts", Usage: "file name without .crt/.key"},
			&cli.DurationFlag{Name: "valid", Value: 7 * 24 * time.Hour, Usage: "how long it is valid from now (it starts an hour ago)"},
			&cli.BoolFlag{Name: "expired", Usage: "make it expired: valid from two days ago to one day ago"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return fmt.Errorf("cert takes no arguments, got %q", c.Args().Slice())
			}
			o := ntplab.CertOptions{DNSNames: c.StringSlice("dns")}
			for _, s := range c.StringSlice("ip") {
				ip, err := netip.ParseAddr(s)
				if err != nil {
					return fmt.Errorf("--ip: %w", err)
				}
				o.IPs = append(o.IPs, ip)
			}
			if c.Duration("valid") <= 0 {
				return fmt.Errorf("--valid %s: want a positive duration", c.Duration("valid"))
			}
			now := time.Now()
			o.NotBefore, o.NotAfter = now.Add(-time.Hour), now.Add(c.Duration("valid"))
			if c.Bool("expired") {
				o.NotBefore, o.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
			}
			f, err := ntplab.WriteCert(c.String("dir"), c.String("name"), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s\n%s\n", f.Cert, f.Key)
			return nil
		},
	}
}
