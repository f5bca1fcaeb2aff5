package config

import (
	"errors"
	"fmt"
	"strconv"
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
		Measure:          c.Testing.Measure,
		Spacing:          c.Testing.Spacing.D(),
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
// caller adds the service manager and the logger. Like timesyncd, a
// classic ntpd may get servers listed with nts as plain NTP only under
// authentication = off (NTPsec gets them with nts).
func (c *Config) NTPD() fallback.NTPDConfig {
	return fallback.NTPDConfig{ConfPath: c.Paths.NTPConf, AllowPlain: c.allowPlain()}
}

// Timesyncd returns the timesyncd backend's configuration: it may write
// servers listed with nts as plain NTP only under authentication = off.
func (c *Config) Timesyncd() fallback.TimesyncdConfig {
	return fallback.TimesyncdConfig{AllowPlain: c.allowPlain()}
}

// allowPlain says a daemon without NTS may be given servers listed with
// nts as plain NTP: only under selection.authentication = off.
func (c *Config) allowPlain() bool {
	return c.Selection.Authentication == string(scoring.AuthOff)
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
	sc.Authentication = scoring.AuthPolicy(s.Authentication)
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
	if derrs := discoveryErrors(c); len(derrs) > 0 {
		errs = append(errs, derrs...)
	} else if err := c.Discovery().Validate(); err != nil {
		// A rule of discovery's this file does not check key by key.
		errs = append(errs, errors.Join(ErrInvalid, err))
	}
	if err := c.Notify().Validate(); err != nil {
		errs = append(errs, notifyError(c, err))
	}
	// What apply and probe hand the chronyd client is validated there
	// again; check it here so config check fails first.
	for _, a := range strings.Split(c.Paths.ChronyAddress, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, err := chronyctl.ParseUDPAddr(a); err != nil {
			k, _ := Lookup("paths.chrony_address")
			errs = append(errs, &KeyError{Key: k.Path, Value: k.Format(c),
				Allowed: "IP addresses with optional ports, comma-separated: " + err.Error()})
		}
	}
	if err := (chronyctl.Config{Socket: c.Paths.ChronySocket}).Validate(); err != nil {
		k, _ := Lookup("paths.chrony_socket")
		errs = append(errs, &KeyError{Key: k.Path, Value: k.Format(c), Allowed: "a Unix socket path: " + err.Error()})
	}
	return errs
}

// proberKeys are the prober's names of the keys config.Prober sets.
var proberKeys = map[string]string{"samples": "testing.samples_per_server", "spacing": "testing.spacing",
	"timeout": "testing.timeout"}

// proberError checks what apply and probe hand the prober, which
// validates it again, and names the key its message is about. A key
// already reported is not reported twice: the testing keys' own ranges
// are checked first, so this is the rest of the prober's rules (a
// spacing of 0).
func proberError(c *Config, reported []error) error {
	err := c.Prober().Validate()
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), prober.ErrInvalidConfig.Error()+": ")
	name, _, _ := strings.Cut(msg, " ")
	k, ok := Lookup(proberKeys[name])
	if !ok {
		return errors.Join(ErrInvalid, err)
	}
	for _, r := range reported {
		var ke *KeyError
		if errors.As(r, &ke) && ke.Key == k.Path {
			return nil
		}
	}
	return &KeyError{Key: k.Path, Value: k.Format(c), Reason: err.Error()}
}

// discoveryErrors checks the keys discovery.Config.Validate checks, one
// key (and one list item) at a time, so each error names its key, and
// Loaded.Validate its origin. The rules stay discovery's: the limits are
// its constants, a server is checked by its list parser (CheckServer),
// the country and URL by its Validate on a config holding only that key.
func discoveryErrors(c *Config) []error {
	var errs []error
	maxServers := c.Testing.MaxServers
	maxOK := maxServers >= 1 && maxServers <= discovery.MaxCandidates
	if !maxOK {
		errs = append(errs, &KeyError{Key: "testing.max_servers_to_test", Value: fmt.Sprint(maxServers),
			Allowed: fmt.Sprintf("between 1 and %d", discovery.MaxCandidates)})
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"servers", c.Servers}, {"keep", c.Keep}} {
		for i, s := range l.list {
			if err := discovery.CheckServer(s); err != nil {
				errs = append(errs, &KeyError{Key: fmt.Sprintf("%s[%d]", l.key, i), Value: strconv.Quote(s),
					Allowed: "a server: host, host:port or [IPv6]:port: " + err.Error()})
			}
		}
	}
	if maxOK && len(c.Keep) > maxServers {
		k, _ := Lookup("keep")
		errs = append(errs, &KeyError{Key: "keep", Value: k.Format(c), Allowed: "no more servers than testing.max_servers_to_test",
			RelKey: "testing.max_servers_to_test", RelValue: fmt.Sprint(maxServers)})
	}
	for i, f := range c.ServersFiles {
		if f == "" {
			errs = append(errs, &KeyError{Key: fmt.Sprintf("servers_files[%d]", i), Value: `""`, Allowed: "a file name"})
		}
	}
	only := func(set func(*discovery.Config)) string {
		d := discovery.DefaultConfig()
		set(&d)
		if err := d.Validate(); err != nil {
			return strings.TrimPrefix(err.Error(), discovery.ErrConfig.Error()+": ")
		}
		return ""
	}
	if why := only(func(d *discovery.Config) { d.Country = c.Geographic.Country }); why != "" {
		errs = append(errs, &KeyError{Key: "geographic.country", Value: strconv.Quote(c.Geographic.Country),
			Allowed: `an ISO 3166 alpha-2 country code (e.g. "de")`})
	}
	if why := only(func(d *discovery.Config) { d.RemoteListURL = c.RemoteListURL }); why != "" {
		errs = append(errs, &KeyError{Key: "remote_list_url", Value: strconv.Quote(c.RemoteListURL),
			Allowed: "an https:// URL without credentials: " + strings.TrimPrefix(why, "remote_list_url: ")})
	}
	return errs
}

// notifyError names the key the notifier's message is about (it starts
// with the key's path), so Loaded.Validate can say where it came from.
func notifyError(c *Config, err error) error {
	msg := strings.TrimPrefix(err.Error(), notify.ErrConfig.Error()+": ")
	name := msg
	if i := strings.IndexAny(msg, " [:"); i >= 0 {
		name = msg[:i]
	}
	k, ok := Lookup(name)
	if !ok {
		return errors.Join(ErrInvalid, err)
	}
	value := k.Format(c)
	if k.Path == "notifications.email.password" && c.Notifications.Email.Password != "" {
		value = `"(set, not shown)"`
	}
	return &KeyError{Key: k.Path, Value: value, Reason: err.Error()}
}

func formatAny(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.6g", f)
	}
	return fmt.Sprint(v)
}
