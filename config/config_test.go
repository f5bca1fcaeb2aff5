package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestDefaultsValidate(t *testing.T) {
	c := Default()
	require.NoError(t, c.Validate())
}

func TestLoadFile(t *testing.T) {
	p := writeFile(t, `# production preset
servers = ["ntp1.example.org", "ntp2.example.org:10123"]
keep = ["ntp1.example.org"]
policy = "add-only"

[testing]
samples_per_server = 3
timeout = 5          # seed form: seconds
interval_hours = 12  # seed form: hours
spacing = "2500ms"

[selection]
weight_jitter = 0.40
weight_reachability = 0.35
weight_stratum = 0.20
weight_latency = 0.05
min_score = 70

[notifications.email]
enabled = true
smtp_server = "smtp.example.org"
from_address = "ntp@example.org"
to_addresses = ["admin@example.org"]

[geographic]
auto_detect = false
`)
	l, err := Load(p, true)
	require.NoError(t, err)
	require.NoError(t, l.Validate())
	c := l.Config
	require.Equal(t, []string{"ntp1.example.org", "ntp2.example.org:10123"}, c.Servers)
	require.Equal(t, "add-only", c.Policy)
	require.Equal(t, 3, c.Testing.SamplesPerServer)
	require.Equal(t, 5*time.Second, c.Testing.Timeout.D())
	require.Equal(t, 12*time.Hour, c.Testing.Interval.D())
	require.Equal(t, 2500*time.Millisecond, c.Testing.Spacing.D())
	require.Equal(t, 0.40, c.Selection.WeightJitter)
	require.Equal(t, 70.0, c.Selection.MinScore)
	require.False(t, c.Geographic.AutoDetect)
	require.True(t, c.Geographic.PreferRegional, "untouched keys keep defaults")
	require.Equal(t, os.FileMode(0o600), l.FileMode)
	require.Equal(t, Source{Kind: "file", Detail: p + ":9"}, l.Source("testing.interval_hours"))
	require.Equal(t, Source{Kind: "default"}, l.Source("testing.max_servers_to_test"))
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"unknown key", "[selection]\nmin_stratum = 1\nwieght_jitter = 0.3\n", ":3: unknown key \"selection.wieght_jitter\"; keys in [selection] are min_stratum"},
		{"unknown top-level key", "sever = [\"a\"]\n", ":1: unknown key \"sever\"; keys at the top level are servers"},
		{"unknown section", "\n[tesing]\n", ":2: unknown section [tesing]; sections are"},
		{"wrong type", "[testing]\nsamples_per_server = \"four\"\n", ":2: testing.samples_per_server: want an integer"},
		{"wrong list item", "servers = [1, 2]\n", ":1: servers: want a list of strings"},
		{"bad duration", "[testing]\n\ntimeout = \"soon\"\n", ":3: testing.timeout: want a duration like 90s, 6h or 1d, or a number of seconds"},
		{"syntax", "[testing\n", ":1:"},
		{"array table", "[[selection]]\n", "arrays of tables"},
		{"inline table unknown", "notifications = { email = { enabeld = true } }\n", "unknown key \"notifications.email.enabeld\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.doc)
			_, err := Load(p, true)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), p)
		})
	}
}

func TestValidateNamesSourceAndRange(t *testing.T) {
	p := writeFile(t, "[selection]\nset_size = 12\n")
	l, err := Load(p, true)
	require.NoError(t, err)
	err = l.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	require.EqualError(t, err, "selection.set_size = 12 (from file "+p+":2): must be 1..8")

	c := Default()
	c.Selection.WeightJitter = 0.5
	c.Policy = "yolo"
	err = c.Validate()
	require.ErrorContains(t, err, "selection.weight_jitter + weight_reachability + weight_stratum + weight_latency = 1.15: must be 1 (within 1e-9)")
	require.ErrorContains(t, err, `policy = "yolo": must be one of converge, add-only`)

	c = Default()
	c.Servers = []string{"ok.example", "bad\nrestrict default"}
	err = c.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "servers[1]")
}

func TestMissingFile(t *testing.T) {
	l, err := Load(filepath.Join(t.TempDir(), "none.toml"), false)
	require.NoError(t, err)
	require.Equal(t, Default(), l.Config)
	_, err = Load(filepath.Join(t.TempDir(), "none.toml"), true)
	require.Error(t, err)
}

func TestPrecedence(t *testing.T) {
	p := writeFile(t, "[testing]\nsamples_per_server = 3\nspacing = 3\n[selection]\nmin_score = 65\n")
	env := map[string]string{
		"NTP_OPTIMIZER_SAMPLES":   "5",
		"NTP_OPTIMIZER_SPACING":   "4s",
		"NTP_OPTIMIZER_KEEP":      "a.example, b.example",
		"NTP_OPTIMIZER_UNRELATED": "x",
	}
	var got *Loaded
	app := &cli.App{
		Name:  "t",
		Flags: Flags("", "testing", "selection"),
		Action: func(c *cli.Context) error {
			l, err := Load(p, true)
			if err != nil {
				return err
			}
			if err := l.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
				return err
			}
			if err := l.ApplyFlags(c); err != nil {
				return err
			}
			got = l
			return nil
		},
	}
	require.NoError(t, app.Run([]string{"t", "--samples", "6", "--no-discovery", "--server", "x.example", "--server", "y.example"}))
	c := got.Config
	require.Equal(t, 6, c.Testing.SamplesPerServer, "flag beats env and file")
	require.Equal(t, Source{Kind: "flag", Detail: "--samples"}, got.Source("testing.samples_per_server"))
	require.Equal(t, 4*time.Second, c.Testing.Spacing.D(), "env beats file")
	require.Equal(t, Source{Kind: "env", Detail: "NTP_OPTIMIZER_SPACING"}, got.Source("testing.spacing"))
	require.Equal(t, 65.0, c.Selection.MinScore, "file beats default")
	require.Equal(t, []string{"a.example", "b.example"}, c.Keep)
	require.Equal(t, []string{"x.example", "y.example"}, c.Servers)
	require.True(t, c.NoDiscovery)
}

func TestEnvError(t *testing.T) {
	l, err := Load("", false)
	require.NoError(t, err)
	err = l.ApplyEnv(func(k string) (string, bool) {
		if k == "NTP_OPTIMIZER_SAMPLES" {
			return "many", true
		}
		return "", false
	})
	require.EqualError(t, err, `testing.samples_per_server = many (from env NTP_OPTIMIZER_SAMPLES): must be an integer`)
}

func TestShowRoundTrip(t *testing.T) {
	p := writeFile(t, "keep = [\"k.example\"]\n[testing]\ninterval_hours = 2\n[notifications.email]\npassword = \"s3cret\"\n")
	l, err := Load(p, true)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, l.Show(&buf))
	out := buf.String()
	require.Contains(t, out, "interval_hours = \"2h0m0s\"")
	require.Contains(t, out, "# file "+p+":3")
	require.NotContains(t, out, "s3cret")

	// The output is a valid configuration file giving the same values
	// (except the password, which is never shown).
	back, err := Load(writeFile(t, out), true)
	require.NoError(t, err)
	want := l.Config
	want.Notifications.Email.Password = "(set, not shown)"
	require.Equal(t, want, back.Config)
}

func TestEveryKeyHasUsageAndUniqueFlag(t *testing.T) {
	flags := map[string]string{}
	for _, k := range Keys() {
		require.NotEmpty(t, k.Usage, k.Path)
		if k.Flag == "" {
			continue
		}
		prev, dup := flags[k.Flag]
		require.False(t, dup, "flag --%s used by %s and %s", k.Flag, prev, k.Path)
		flags[k.Flag] = k.Path
	}
	require.True(t, errors.Is(&KeyError{}, ErrInvalid))
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		unit time.Duration
		want time.Duration
		bad  bool
	}{
		{"6", time.Hour, 6 * time.Hour, false},
		{"1.5", time.Hour, 90 * time.Minute, false},
		{"90m", time.Hour, 90 * time.Minute, false},
		{"1d", time.Hour, 24 * time.Hour, false},
		{"0.5d", time.Second, 12 * time.Hour, false},
		{"5", time.Second, 5 * time.Second, false},
		{"2500ms", time.Second, 2500 * time.Millisecond, false},
		{"1e300", time.Hour, 0, true},
		{"7000000m", time.Hour, 0, true}, // a Go duration past maxDuration (found by FuzzParseDuration)
		{"NaN", time.Hour, 0, true},
		{"1hd", time.Hour, 0, true},
		{"soon", time.Hour, 0, true},
		{"36h", 24 * time.Hour, 36 * time.Hour, false}, // history --since 36h: a Go duration where the unit is days
		{"7", 24 * time.Hour, 7 * 24 * time.Hour, false},
		{"", time.Hour, 0, true},
	}
	for _, tc := range tests {
		d, err := parseDuration(tc.in, tc.unit)
		if tc.bad {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, d.D(), tc.in)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"6", "90m", "1d", "1e300", "-5", "0.5d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s, time.Hour)
		if err == nil {
			require.LessOrEqual(t, d.D(), maxDuration)
			require.GreaterOrEqual(t, d.D(), -maxDuration)
		}
	})
}

func TestSourceOptionsValidatedByChronyctl(t *testing.T) {
	c := Default()
	c.Chrony.SourceOptions = "iburst colour red"
	err := c.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, `chrony.source_options = "iburst colour red": must be chrony server options (chrony.conf(5), without port): unknown or unsupported chrony option "colour"`)
	c.Chrony.SourceOptions = "iburst minpoll 4 maxpoll 10 nts"
	require.NoError(t, c.Validate())
}

// TestDefaultsAgreeWithPackages: the built-in configuration translates to
// each package's own defaults, so a default is the same whichever way a
// component is built.
func TestDefaultsAgreeWithPackages(t *testing.T) {
	c := Default()
	require.Equal(t, scoring.DefaultConfig(), c.Scoring())
	require.Equal(t, prober.DefaultConfig(), c.Prober())
	lc := c.ChronyLive()
	require.Equal(t, chronylive.DefaultAnswerTimeout, lc.AnswerTimeout)
	require.Equal(t, chronylive.DefaultVerifyTimeout, lc.VerifyTimeout)
	require.Equal(t, chronylive.DefaultChronyConf, lc.ChronyConf)
	d := discovery.DefaultConfig()
	d.MaxCandidates = c.Testing.MaxServers
	require.Equal(t, d, c.Discovery())
}
