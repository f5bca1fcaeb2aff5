package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/fallback"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// detected is the backend a command works with and how it was chosen.
type detected struct {
	backend agent.Backend
	how     string // for `status` and the log
	close   func() // releases the daemon connection
	// nts is the daemon's NTS certificate trust, for the pre-flight of
	// NTS candidates (zero: the system's CAs).
	nts agent.NTSSettings
}

// detectBackend picks the NTP daemon to manage: chronyd when its command
// socket answers, else an active ntpd/NTPsec, else an active
// systemd-timesyncd (--backend overrides). The error says how to install
// chrony when there is none.
func detectBackend(c *cli.Context, cfg *config.Config) (*detected, error) {
	log := logger(c)
	want := cfg.Backend
	if want == "auto" || want == "chrony" {
		cl, ctx, done, err := dialChrony(c, cfg, false)
		if err == nil {
			_, err = cl.NumSources(ctx)
		}
		if err == nil {
			b := chronylive.New(cl, cfg.ChronyLive(), log)
			b.Clock = clockOf(c)
			return &detected{backend: b, close: done, nts: chronyNTS(b.Trust),
				how: "chronyd (its command socket " + cl.Remote() + " answers)"}, nil
		}
		if done != nil {
			done()
		}
		var ce *codedError
		if chronyOnly(cfg) || errors.As(err, &ce) {
			return nil, err
		}
		log.Debug().Err(err).Msg("chronyd is not answering; looking for ntpd or systemd-timesyncd")
	}
	services, _ := systemdServices(c.Context)
	kind, how := want, "--backend "+want
	if want == "auto" {
		d, err := fallback.Detector{Units: services}.Detect(c.Context)
		if err != nil {
			if errors.Is(err, fallback.ErrNoDaemon) {
				return nil, fmt.Errorf("chronyd's command socket does not answer and %w", err)
			}
			return nil, err
		}
		kind, how = d.Daemon, d.String()
	}
	fb, err := fileBackend(kind, cfg, services, c)
	if err != nil {
		return nil, err
	}
	return &detected{backend: &fallback.Files{Kind: kind, Backend: fb}, how: how, close: func() {}}, nil
}

// chronyNTS is chronyd's certificate trust as the NTS pre-flight takes it
// (chronylive adds an NTS server with a hostname by that name, so the
// pre-flight checks the certificate against the candidate's name, as
// chronyd will). nocerttimecheck is left out: chronyd skips the time
// checks only until its first clock updates, so on a running system it
// makes them, and a pre-flight that skipped them would pass expired
// certificates chronyd then refuses.
func chronyNTS(tr chronylive.NTSTrust) agent.NTSSettings {
	return agent.NTSSettings{Options: prober.NTSOptions{TrustedCerts: tr.TrustedCerts, NoSystemCerts: tr.NoSystemCert}}
}

// fileBackend builds the ntpd or timesyncd backend.
func fileBackend(kind string, cfg *config.Config, services fallback.ServiceManager, c *cli.Context) (fallback.FileBackend, error) {
	switch kind {
	case fallback.DaemonNTPD:
		nc := cfg.NTPD()
		nc.Services, nc.Log, nc.Clock = services, logger(c), clockOf(c)
		return fallback.NewNTPD(nc)
	case fallback.DaemonTimesyncd:
		tc := cfg.Timesyncd()
		tc.Services, tc.Log, tc.Clock = services, logger(c), clockOf(c)
		if bus, err := fallback.NewTimesync1(); err == nil {
			tc.Bus = bus
		}
		return fallback.NewTimesyncd(tc)
	}
	return nil, usageError(fmt.Errorf("--backend %q: want auto, chrony, ntpd or timesyncd", kind))
}

// chronyOnly says the operator asked for chronyd (--backend chrony, or a
// chronyd socket named explicitly): its failure is then the answer, with
// no fallback to another daemon.
func chronyOnly(cfg *config.Config) bool {
	return cfg.Backend == "chrony" || cfg.Paths.ChronySocket != ""
}

// systemdServices connects to systemd over D-Bus where it runs; nil
// otherwise (the fallback backends then say they need systemd to restart).
func systemdServices(ctx context.Context) (fallback.ServiceManager, error) {
	if !systemd.Running("") {
		return nil, fallback.ErrNoSystemd
	}
	s, err := systemd.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fallback.ErrNoSystemd, err)
	}
	return s, nil
}

// readChrony is the start of the commands that only read chronyd (sources,
// authdata): no arguments, the configuration, a read-only connection.
func readChrony(c *cli.Context) (cl *chronyctl.Client, ctx context.Context, done func(), err error) {
	if c.NArg() > 0 {
		return nil, nil, nil, usageError(fmt.Errorf("%s takes no arguments, got %q", c.Command.Name, c.Args().Slice()))
	}
	l, err := loadConfig(c)
	if err != nil {
		return nil, nil, nil, err
	}
	return dialChrony(c, &l.Config, true)
}

// dialChrony connects to chronyd as the configuration says, within a
// context bounded by chrony.timeout; readOnly allows the UDP fallback. The
// caller calls done when finished.
func dialChrony(c *cli.Context, cfg *config.Config, readOnly bool) (cl *chronyctl.Client, ctx context.Context, done func(), err error) {
	cc := cfg.ChronyClient(readOnly)
	cc.Logger = logger(c)
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
