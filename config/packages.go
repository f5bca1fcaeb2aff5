package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/fallback"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Agent returns the settings of an apply run: the source lists and
// [geographic], [selection], the policy and [history].
func (c *Config) Agent() agent.Settings {
	return agent.Settings{
		Discovery:        c.Discovery(),
		Scoring:          c.Scoring(),
		Policy:           daemon.Policy(c.Policy),
		HistoryRetention: time.Duration(c.History.RetentionDays) * 24 * time.Hour,
		LockWait:         agent.DefaultLockWait,
	}
}

// Prober returns [testing] as the prober's configuration.
func (c *Config) Prober() prober.Config {
	pc := prober.DefaultConfig()
	pc.Samples = c.Testing.SamplesPerServer
	pc.Spacing = c.Testing.Spacing.D()
	pc.Timeout = c.Testing.Timeout.D()
	pc.FinalWaitMin = min(pc.FinalWaitMin, pc.Timeout)
	return pc
}

// ChronyClient returns how to reach chronyd's command socket (paths and
// [chrony]); readOnly allows the UDP command port as a fallback.
func (c *Config) ChronyClient(readOnly bool) chronyctl.Config {
	cc := chronyctl.Config{Socket: c.Paths.ChronySocket, UDPFallback: readOnly}
	for _, a := range strings.Split(c.Paths.ChronyAddress, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cc.UDPAddrs = append(cc.UDPAddrs, a)
		}
	}
	return cc
}

// ChronyLive returns [chrony] and the chrony paths as the live chronyd
// backend's configuration.
func (c *Config) ChronyLive() chronylive.Config {
	return chronylive.Config{
		SourceOptions: c.Chrony.SourceOptions,
		AnswerTimeout: c.Chrony.AnswerTimeout.D(),
		VerifyTimeout: c.Chrony.VerifyTimeout.D(),
		SourceDir:     c.Paths.ChronySourceDir,
		ChronyConf:    c.Paths.ChronyConf,
	}
}

// NTPD returns the ntpd backend's configuration from the paths; the
// caller adds the service manager and the logger.
func (c *Config) NTPD() fallback.NTPDConfig {
	return fallback.NTPDConfig{ConfPath: c.Paths.NTPConf}
}

// Scoring returns the [selection] section as scoring's configuration.
func (c *Config) Scoring() scoring.Config {
	s := c.Selection
	sc := scoring.DefaultConfig()
	sc.Weights = scoring.Weights{
		Jitter:       s.WeightJitter,
		Reachability: s.WeightReachability,
		Stratum:      s.WeightStratum,
		Latency:      s.WeightLatency,
	}
	sc.MinStratum, sc.MaxStratum = s.MinStratum, s.MaxStratum
	sc.MaxRootDistance = s.MaxRootDistance.D().Seconds()
	sc.MinScore = s.MinScore
	sc.SetSize, sc.MinSetSize = s.SetSize, s.MinSetSize
	sc.HysteresisPercent = s.HysteresisPercent
	sc.StabilityThreshold = s.StabilityThreshold
	sc.MaxChangesPerRun = s.MaxChangesPerRun
	sc.BlacklistAfterRuns = s.BlacklistAfter
	return sc
}

// Discovery returns the source lists and [geographic] as discovery's
// configuration.
func (c *Config) Discovery() discovery.Config {
	d := discovery.DefaultConfig()
	d.AutoDetect = c.Geographic.AutoDetect
	d.PreferRegional = c.Geographic.PreferRegional
	d.FallbackToGlobal = c.Geographic.FallbackToGlobal
	d.Country = c.Geographic.Country
	d.Servers = c.Servers
	d.ServersFiles = c.ServersFiles
	d.Keep = c.Keep
	d.RemoteListURL = c.RemoteListURL
	d.NoDiscovery = c.NoDiscovery
	d.MaxCandidates = c.Testing.MaxServers
	return d
}

// Notify returns [notifications] as the notifier's configuration.
func (c *Config) Notify() notify.Config {
	n := c.Notifications
	return notify.Config{
		RepeatAfter: n.RepeatAfter.D(),
		Email: notify.EmailConfig{
			Enabled: n.Email.Enabled, SMTPServer: n.Email.SMTPServer, SMTPPort: n.Email.SMTPPort,
			TLS: notify.TLSMode(n.Email.TLS), FromAddress: n.Email.FromAddress, ToAddresses: n.Email.ToAddresses,
			Username: n.Email.Username, Password: n.Email.Password, PasswordFile: n.Email.PasswordFile,
			SendOnChange: n.Email.SendOnChange, SendOnError: n.Email.SendOnError, Timeout: n.Email.Timeout.D(),
		},
		Webhook: notify.WebhookConfig{
			Enabled: n.Webhook.Enabled, URL: n.Webhook.URL, SendOnChange: n.Webhook.SendOnChange,
			SendOnError: n.Webhook.SendOnError, Timeout: n.Webhook.Timeout.D(),
		},
	}
}

// delegated validates the keys whose rules belong to another package, so
// each rule is written once. Errors are reported under this file's key
// names.
func delegated(c *Config) []error {
	var errs []error
	sc := c.Scoring()
	if err := sc.Validate(); err != nil {
		var ce *scoring.ConfigError
		if errors.As(err, &ce) {
			k := &KeyError{Key: "selection." + ce.Key, Allowed: ce.Allowed}
			if key, ok := Lookup(k.Key); ok {
				k.Value = key.Format(c)
			} else {
				k.Value = formatAny(ce.Value)
			}
			errs = append(errs, k)
		} else {
			errs = append(errs, err)
		}
	}
	if err := c.Discovery().Validate(); err != nil {
		errs = append(errs, errors.Join(ErrInvalid, err))
	}
	if err := c.Notify().Validate(); err != nil {
		errs = append(errs, errors.Join(ErrInvalid, err))
	}
	return errs
}

func formatAny(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.6g", f)
	}
	return fmt.Sprint(v)
}
