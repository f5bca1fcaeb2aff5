package schedule

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// unitValues returns the values of key in section of a unit file.
func unitValues(content, section, key string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			cur = line
			continue
		}
		if v, ok := strings.CutPrefix(line, key+"="); ok && cur == "["+section+"]" {
			out = append(out, v)
		}
	}
	return out
}

func TestRenderTimer(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		interval, delay               time.Duration
		wantActive, wantRandom, descr string
	}{
		{name: "default", interval: 6 * time.Hour, wantActive: "6h", wantRandom: "1h", descr: "Run ntp-optimizer every 6h"},
		{name: "seed's 12 hours", interval: 12 * time.Hour, wantActive: "12h", wantRandom: "1h"},
		{name: "short interval: quarter of it", interval: 20 * time.Minute, wantActive: "20min", wantRandom: "5min"},
		{name: "odd interval", interval: 90 * time.Minute, wantActive: "1h 30min", wantRandom: "22min 30s"},
		{name: "explicit delay", interval: 6 * time.Hour, delay: 10 * time.Minute, wantActive: "6h", wantRandom: "10min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultUnitConfig()
			c.Interval, c.RandomizedDelay = tc.interval, tc.delay
			s, err := RenderTimer(c)
			require.NoError(t, err)
			require.Equal(t, []string{tc.wantActive}, unitValues(s, "Timer", "OnUnitActiveSec"))
			require.Equal(t, []string{tc.wantRandom}, unitValues(s, "Timer", "RandomizedDelaySec"))
			require.Equal(t, []string{"5min"}, unitValues(s, "Timer", "OnBootSec"))
			require.Empty(t, unitValues(s, "Timer", "Persistent"), "Persistent= does nothing on a monotonic timer")
			require.Equal(t, []string{"1min"}, unitValues(s, "Timer", "AccuracySec"))
			require.Equal(t, []string{ServiceName}, unitValues(s, "Timer", "Unit"))
			require.Equal(t, []string{"timers.target"}, unitValues(s, "Install", "WantedBy"))
			if tc.descr != "" {
				require.Equal(t, []string{tc.descr}, unitValues(s, "Unit", "Description"))
			}
		})
	}
}

func TestRenderService(t *testing.T) {
	c := DefaultUnitConfig()
	c.Binary = "/opt/ntp optimizer/bin/ntp-optimizer"
	c.ApplyArgs = []string{"--config", "/etc/ntp-optimizer/config.toml", "--metrics-file=/var/lib/prometheus/node-exporter/ntp_optimizer.prom", `100%"sure"$HOME`}
	s, err := RenderService(c)
	require.NoError(t, err)
	require.Equal(t, []string{`"/opt/ntp optimizer/bin/ntp-optimizer" apply --no-schedule --config /etc/ntp-optimizer/config.toml --metrics-file=/var/lib/prometheus/node-exporter/ntp_optimizer.prom "100%%\"sure\"$$HOME"`},
		unitValues(s, "Service", "ExecStart"))
	for key, want := range map[string]string{
		"Type":                    "oneshot",
		"ProtectSystem":           "strict",
		"PrivateTmp":              "no",
		"NoNewPrivileges":         "yes",
		"ProtectHome":             "yes",
		"CapabilityBoundingSet":   "CAP_DAC_OVERRIDE",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"SystemCallFilter":        "@system-service",
		"StateDirectory":          "ntp-optimizer",
		"LogsDirectory":           "ntp-optimizer",
		"RuntimeDirectory":        "ntp-optimizer",
		"ReadWritePaths":          strings.Join(DefaultWritablePaths, " "),
		"TimeoutStartSec":         "15min",
	} {
		require.Equal(t, []string{want}, unitValues(s, "Service", key), key)
	}
	require.Empty(t, unitValues(s, "Install", "WantedBy"), "the service is started by the timer only")
}

func TestUnitConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*UnitConfig)
		errHas string
	}{
		{name: "relative binary", mod: func(c *UnitConfig) { c.Binary = "ntp-optimizer" }, errHas: "clean absolute path"},
		{name: "unclean binary", mod: func(c *UnitConfig) { c.Binary = "/usr/sbin/../sbin/ntp-optimizer" }, errHas: "clean absolute path"},
		{name: "newline in argument", mod: func(c *UnitConfig) { c.ApplyArgs = []string{"--keep", "a\nExecStartPre=/bin/sh"} }, errHas: "apply argument 2"},
		{name: "empty argument", mod: func(c *UnitConfig) { c.ApplyArgs = []string{""} }, errHas: "empty"},
		{name: "interval", mod: func(c *UnitConfig) { c.Interval = time.Minute }, errHas: "interval 1min"},
		{name: "delay above interval", mod: func(c *UnitConfig) { c.RandomizedDelay = 7 * time.Hour }, errHas: "randomized delay"},
		{name: "writable path with space", mod: func(c *UnitConfig) { c.WritablePaths = []string{"/var/lib/my dir"} }, errHas: "writable path"},
		{name: "writable path relative", mod: func(c *UnitConfig) { c.WritablePaths = []string{"-var/lib"} }, errHas: "writable path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultUnitConfig()
			tc.mod(&c)
			_, err := RenderService(c)
			require.ErrorIs(t, err, ErrUnits)
			require.Contains(t, err.Error(), tc.errHas)
		})
	}
}

// TestSystemdAnalyzeVerify runs systemd's own checker on the units. The
// ExecStart binary must exist for it, so the test points it at a real
// executable; --man=no because the man page is installed by the package,
// not here.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze := testtool.Need(t, "systemd-analyze", "systemd")
	bin, err := os.Executable() // this test binary: a real executable file
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		mod  func(*UnitConfig)
	}{
		{name: "defaults", mod: func(*UnitConfig) {}},
		{name: "12 hours with arguments", mod: func(c *UnitConfig) {
			c.Interval = 12 * time.Hour
			c.ApplyArgs = []string{"--config", "/etc/ntp-optimizer/config.toml", "--keep", "time 1%"}
		}},
		{name: "minimum interval", mod: func(c *UnitConfig) { c.Interval = MinInterval }},
		{name: "maximum interval", mod: func(c *UnitConfig) { c.Interval = MaxInterval }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultUnitConfig()
			c.Binary = bin
			tc.mod(&c)
			dir := t.TempDir()
			_, err := Installer{UnitDir: dir, Units: c}.Install(context.Background(), false)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, analyze, "verify", "--man=no",
				filepath.Join(dir, TimerName), filepath.Join(dir, ServiceName))
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "systemd-analyze verify:\n%s", out)
			require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify found problems")
		})
	}
}

// TestDeployUnitsUpToDate keeps deploy/systemd (the packaged units) equal to
// the rendering of the packaged defaults. UPDATE_GOLDEN=1 rewrites them.
func TestDeployUnitsUpToDate(t *testing.T) {
	c := DefaultUnitConfig()
	service, err := RenderService(c)
	require.NoError(t, err)
	timer, err := RenderTimer(c)
	require.NoError(t, err)
	for name, want := range map[string]string{ServiceName: service, TimerName: timer} {
		path := filepath.Join("..", "deploy", "systemd", name)
		if os.Getenv("UPDATE_GOLDEN") == "1" {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, want, string(got), "%s is stale: run UPDATE_GOLDEN=1 go test ./schedule", path)
	}
}

// TestSystemdAnalyzeSecurity keeps the service's exposure, as systemd rates
// its sandboxing, at "OK" (at most 3.0 out of 10; 2.6 when written).
func TestSystemdAnalyzeSecurity(t *testing.T) {
	analyze := testtool.Need(t, "systemd-analyze", "systemd")
	bin, err := os.Executable()
	require.NoError(t, err)
	c := DefaultUnitConfig()
	c.Binary = bin
	dir := t.TempDir()
	_, err = Installer{UnitDir: dir, Units: c}.Install(context.Background(), false)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, "security", "--offline=yes", "--no-pager", filepath.Join(dir, ServiceName))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := regexp.MustCompile(`Overall exposure level for ntp-optimizer\.service: ([0-9.]+)`).FindSubmatch(out)
	require.NotNil(t, m, "%s", out)
	score, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	t.Logf("systemd-analyze security: exposure %.1f", score)
	require.LessOrEqual(t, score, 3.0, "%s", out)
}
