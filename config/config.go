package config

import (
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
)

// DefaultPath is where the configuration file lives unless --config says
// otherwise. A missing file at the default path is fine (defaults apply).
const DefaultPath = "/etc/ntp-optimizer/config.toml"

// Config is the whole configuration. Field tags define the keys (see the
// package documentation).
type Config struct {
	Servers       []string `toml:"servers" flag:"server" usage:"NTP server to consider (repeatable); host, host:port or [v6]:port"`
	ServersFiles  []string `toml:"servers_files" flag:"servers-file" usage:"file with one server per line, # comments (repeatable)"`
	Keep          []string `toml:"keep" flag:"keep" usage:"pinned server: always selected, never removed (repeatable)"`
	Policy        string   `toml:"policy" flag:"policy" usage:"converge (the daemon's NTP sources become the selected set) or add-only (never remove sources the agent did not add)"`
	Backend       string   `toml:"backend" flag:"backend" usage:"NTP daemon to manage: auto, chrony, ntpd or timesyncd"`
	NoDiscovery   bool     `toml:"no_discovery" flag:"no-discovery" usage:"consider only --servers-file, --server, keep and the daemon's current sources (no pool, catalog or remote list)"`
	RemoteListURL string   `toml:"remote_list_url" flag:"remote-list-url" usage:"HTTPS URL of a server list replacing the built-in catalog"`

	Paths         Paths         `toml:"paths"`
	Chrony        Chrony        `toml:"chrony"`
	Testing       Testing       `toml:"testing"`
	Selection     Selection     `toml:"selection"`
	Geographic    Geographic    `toml:"geographic"`
	Notifications Notifications `toml:"notifications"`
	Logging       Logging       `toml:"logging"`
	History       History       `toml:"history"`
}

// Paths are where things are on this machine.
type Paths struct {
	StateDir        string `toml:"state_dir" flag:"state-dir" usage:"directory for history, blacklist and hysteresis state"`
	LockDir         string `toml:"lock_dir" flag:"lock-dir" usage:"runtime directory for the run lock besides the state directory, so runs stay one at a time when the state directory is unusable (default: /run/ntp-optimizer with the default state_dir, none with another)"`
	ChronySocket    string `toml:"chrony_socket" flag:"chrony-socket" usage:"chronyd's command socket (default /run/chrony/chronyd.sock, then /var/run/chrony/chronyd.sock)"`
	ChronyAddress   string `toml:"chrony_address" flag:"chrony-address" usage:"chronyd's UDP command port(s), comma-separated, for read-only views when the socket cannot be used (e.g. not root)"`
	ChronyConf      string `toml:"chrony_conf" flag:"chrony-conf" usage:"chronyd's configuration, read for its sourcedir"`
	ChronySourceDir string `toml:"chrony_sourcedir" flag:"chrony-sourcedir" usage:"sourcedir for ntp-optimizer.sources (default: the first persistent sourcedir in chrony.conf)"`
	NTPConf         string `toml:"ntp_conf" flag:"ntp-conf" usage:"ntpd/ntpsec configuration (default /etc/ntpsec/ntp.conf, then /etc/ntp.conf)"`
	MetricsFile     string `toml:"metrics_file" flag:"metrics-file" usage:"write Prometheus metrics here for node_exporter's textfile collector (*.prom)"`
}

// Chrony tunes how sources are changed on chronyd.
type Chrony struct {
	Timeout       Duration `toml:"timeout" flag:"chrony-timeout" unit:"s" usage:"give up on a chronyd request after this long (chronyc: 1+2+4 s)"`
	SourceOptions string   `toml:"source_options" flag:"source-options" usage:"chrony options for the sources the agent adds"`
	AnswerTimeout Duration `toml:"answer_timeout" flag:"answer-timeout" unit:"s" usage:"how long new sources get to answer before old ones are removed"`
	VerifyTimeout Duration `toml:"verify_timeout" flag:"verify-timeout" unit:"s" usage:"how long chronyd gets to select a source after a change before it is rolled back"`
}

// Testing is how candidates are measured (the seed's `testing` section).
type Testing struct {
	SamplesPerServer int      `toml:"samples_per_server" flag:"samples" usage:"NTP queries per server address and run (1..8)"`
	Spacing          Duration `toml:"spacing" flag:"spacing" unit:"s" usage:"minimum time between two queries to one address"`
	Timeout          Duration `toml:"timeout" flag:"timeout" unit:"s" usage:"how long to wait for one reply"`
	Interval         Duration `toml:"interval_hours" flag:"interval" unit:"h" usage:"how often the timer runs apply (hours, or a duration like 90m)"`
	MaxServers       int      `toml:"max_servers_to_test" flag:"max-servers" usage:"most server names measured per run"`
	Measure          string   `toml:"measure" flag:"measure" usage:"how new candidates are measured: auto (inside chronyd as noselect sources when it can, else probed), chronyd (as auto, warning when it cannot) or probe (always probed directly)"`
}

// Selection is how servers are scored and chosen (the seed's `selection`).
type Selection struct {
	MinStratum         int      `toml:"min_stratum" flag:"min-stratum" usage:"lowest acceptable stratum"`
	MaxStratum         int      `toml:"max_stratum" flag:"max-stratum" usage:"highest acceptable stratum"`
	WeightJitter       float64  `toml:"weight_jitter" flag:"weight-jitter" usage:"weight of jitter in the score"`
	WeightReachability float64  `toml:"weight_reachability" flag:"weight-reachability" usage:"weight of reachability in the score"`
	WeightStratum      float64  `toml:"weight_stratum" flag:"weight-stratum" usage:"weight of stratum in the score"`
	WeightLatency      float64  `toml:"weight_latency" flag:"weight-latency" usage:"weight of round-trip delay in the score"`
	MinScore           float64  `toml:"min_score" flag:"min-score" usage:"lowest score a selected server may have"`
	SetSize            int      `toml:"set_size" flag:"set-size" usage:"how many servers to select (1..8)"`
	MinSetSize         int      `toml:"min_set_size" flag:"min-set-size" usage:"never shrink the set below this; keep healthy current members instead"`
	StabilityThreshold int      `toml:"stability_threshold" flag:"stability-threshold" usage:"consecutive runs a challenger must win before it replaces a current server"`
	HysteresisPercent  float64  `toml:"hysteresis_percent" flag:"hysteresis-percent" usage:"a challenger must beat a current server by more than this"`
	MaxChangesPerRun   int      `toml:"max_changes_per_run" flag:"max-changes" usage:"most score-driven replacements per run (failing servers are always replaced)"`
	MaxRootDistance    Duration `toml:"max_root_distance" flag:"max-root-distance" unit:"s" usage:"reject servers whose root distance exceeds this"`
	BlacklistAfter     int      `toml:"blacklist_after_runs" flag:"blacklist-after" usage:"blacklist an address after this many consecutive runs without a reply"`
	Authentication     string   `toml:"authentication" flag:"authentication" usage:"NTS policy: prefer (never trade an NTS source for plain NTP on score), require (select NTS servers only) or off"`
}

// Geographic chooses pool zones from the system timezone.
type Geographic struct {
	AutoDetect       bool   `toml:"auto_detect" flag:"auto-detect" usage:"find the region from the system timezone"`
	PreferRegional   bool   `toml:"prefer_regional" flag:"prefer-regional" usage:"try the country and continent pool zones before the catalog"`
	FallbackToGlobal bool   `toml:"fallback_to_global" flag:"fallback-to-global" usage:"use the global pool when regional zones are short"`
	Country          string `toml:"country" flag:"country" usage:"ISO country code to use instead of the detected one"`
}

// Notifications are e-mail and webhook messages on changes and errors.
type Notifications struct {
	RepeatAfter Duration `toml:"repeat_after" flag:"notify-repeat-after" unit:"h" usage:"re-send the same error at most this often"`
	Email       Email    `toml:"email"`
	Webhook     Webhook  `toml:"webhook"`
}

// Email is the seed's notifications.email section.
type Email struct {
	Enabled      bool     `toml:"enabled" flag:"email" usage:"send e-mail notifications"`
	SMTPServer   string   `toml:"smtp_server" flag:"smtp-server" usage:"SMTP server host"`
	SMTPPort     int      `toml:"smtp_port" flag:"smtp-port" usage:"SMTP server port"`
	TLS          string   `toml:"tls" flag:"smtp-tls" usage:"starttls, tls (implicit) or none"`
	FromAddress  string   `toml:"from_address" flag:"email-from" usage:"sender address"`
	ToAddresses  []string `toml:"to_addresses" flag:"email-to" usage:"recipient (repeatable)"`
	Username     string   `toml:"username" flag:"smtp-username" usage:"SMTP user"`
	Password     string   `toml:"password" flag:"-" usage:"SMTP password (only honoured when the file is mode 0600; else use password_file or NTP_OPTIMIZER_SMTP_PASSWORD)"`
	PasswordFile string   `toml:"password_file" flag:"smtp-password-file" usage:"file holding the SMTP password"`
	SendOnChange bool     `toml:"send_on_change" flag:"email-on-change" usage:"e-mail when the selected servers change"`
	SendOnError  bool     `toml:"send_on_error" flag:"email-on-error" usage:"e-mail when a run fails"`
	Timeout      Duration `toml:"timeout" flag:"smtp-timeout" unit:"s" usage:"give up on one delivery after this long"`
}

// Webhook posts JSON (Slack- and Discord-compatible) to a URL.
type Webhook struct {
	Enabled      bool     `toml:"enabled" flag:"webhook" usage:"post notifications to a webhook"`
	URL          string   `toml:"url" flag:"webhook-url" usage:"webhook URL"`
	SendOnChange bool     `toml:"send_on_change" flag:"webhook-on-change" usage:"post when the selected servers change"`
	SendOnError  bool     `toml:"send_on_error" flag:"webhook-on-error" usage:"post when a run fails"`
	Timeout      Duration `toml:"timeout" flag:"webhook-timeout" unit:"s" usage:"give up on one post after this long"`
}

// Logging is where the log goes.
type Logging struct {
	Level  string `toml:"level" flag:"log-level" usage:"debug, info, warn or error"`
	Format string `toml:"format" flag:"log-format" usage:"console, json, journal (journald's native protocol), or auto (console on a terminal, journal when stderr is the journal, JSON otherwise)"`
	File   string `toml:"file" flag:"log-file" usage:"also log to this file (for machines without journald; rotated by logrotate)"`
}

// History is the per-run record in the state directory.
type History struct {
	RetentionDays int `toml:"retention_days" flag:"history-retention-days" usage:"days of run history to keep"`
}

// Default returns the built-in defaults: the seed's values, with four
// samples per server and a set of four servers (RFC 8633).
func Default() Config {
	return Config{
		Policy:  "converge",
		Backend: "auto",
		Paths: Paths{
			StateDir:      agent.DefaultStateDir,
			ChronyConf:    chronylive.DefaultChronyConf,
			ChronyAddress: "127.0.0.1:323,[::1]:323",
		},
		Chrony: Chrony{
			Timeout:       Duration(7 * time.Second),
			SourceOptions: "iburst",
			AnswerTimeout: Duration(20 * time.Second),
			VerifyTimeout: Duration(60 * time.Second),
		},
		Testing: Testing{
			SamplesPerServer: 4,
			Spacing:          Duration(2 * time.Second),
			Timeout:          Duration(5 * time.Second),
			Interval:         Duration(6 * time.Hour),
			MaxServers:       20,
			Measure:          agent.MeasureProbe,
		},
		Selection: Selection{
			MinStratum:         1,
			MaxStratum:         3,
			WeightJitter:       0.35,
			WeightReachability: 0.30,
			WeightStratum:      0.25,
			WeightLatency:      0.10,
			MinScore:           60,
			SetSize:            4,
			MinSetSize:         3,
			StabilityThreshold: 2,
			HysteresisPercent:  15,
			MaxChangesPerRun:   1,
			MaxRootDistance:    Duration(1500 * time.Millisecond),
			BlacklistAfter:     3,
			Authentication:     "prefer",
		},
		Geographic: Geographic{AutoDetect: true, PreferRegional: true, FallbackToGlobal: true},
		Notifications: Notifications{
			RepeatAfter: Duration(24 * time.Hour),
			Email: Email{SMTPPort: notify.DefaultSMTPPort, TLS: string(notify.TLSStartTLS), SendOnChange: true,
				SendOnError: true, Timeout: Duration(notify.DefaultSMTPTimeout)},
			Webhook: Webhook{SendOnChange: true, SendOnError: true, Timeout: Duration(notify.DefaultWebhookTimeout)},
		},
		Logging: Logging{Level: "info", Format: "auto"},
		History: History{RetentionDays: 30},
	}
}
