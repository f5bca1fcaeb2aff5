package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/config"
	"github.com/ntp-optimizer/ntp-optimizer/fallback"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
)

// detected is the backend a command works with and how it was chosen.
type detected struct {
	backend agent.Backend
	how     string // for `status` and the log
	close   func() // releases the daemon connection
	chrony  *chronyctl.Client
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
			b, berr := chronyBackend(c, cfg, cl)
			if berr != nil {
				done()
				return nil, berr
			}
			return &detected{backend: b, chrony: cl, close: done,
				how: "chronyd (its command socket " + cl.Remote() + " answers)"}, nil
		}
		if done != nil {
			done()
		}
		if chronyOnly(cfg) {
			return nil, err
		}
		log.Debug().Err(err).Msg("chronyd is not answering; looking for ntpd or systemd-timesyncd")
	}
	services, _ := systemdServices(c.Context)
	kind := want
	how := "--backend " + want
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
	var fb agent.FileBackend
	var err error
	switch kind {
	case fallback.DaemonNTPD:
		fb, err = fallback.NewNTPD(fallback.NTPDConfig{ConfPath: cfg.Paths.NTPConf, Services: services, Log: log})
	case fallback.DaemonTimesyncd:
		tc := fallback.TimesyncdConfig{Services: services, Log: log}
		if bus, berr := fallback.NewTimesync1(); berr == nil {
			tc.Bus = bus
		}
		fb, err = fallback.NewTimesyncd(tc)
	default:
		return nil, usageError(fmt.Errorf("--backend %q: want auto, chrony, ntpd or timesyncd", kind))
	}
	if err != nil {
		return nil, err
	}
	return &detected{backend: &agent.Files{Kind: kind, Backend: fb}, how: how, close: func() {}}, nil
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

// chronyBackend builds the live chronyd backend; its sources file goes to
// chrony.sourcedir, else the first persistent sourcedir of chrony.conf.
func chronyBackend(c *cli.Context, cfg *config.Config, cl *chronyctl.Client) (*agent.Chrony, error) {
	b := &agent.Chrony{
		Client:        cl,
		SourceOptions: cfg.Chrony.SourceOptions,
		AnswerTimeout: cfg.Chrony.AnswerTimeout.D(),
		VerifyTimeout: cfg.Chrony.VerifyTimeout.D(),
		Log:           logger(c),
	}
	dir := cfg.Paths.ChronySourceDir
	if dir == "" {
		conf, err := agent.ReadChronyConf(cfg.Paths.ChronyConf)
		if err == nil {
			dir, err = conf.PersistentSourceDir()
		}
		if err != nil {
			b.NoFile = err.Error() // Apply warns with it
			return b, nil
		}
	}
	b.File = &agent.SourcesFile{Path: filepath.Join(dir, agent.SourcesFileName)}
	return b, nil
}
