package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd/systemdtest"
	"github.com/ntp-optimizer/ntp-optimizer/schedule"
)

func TestInstallCommand(t *testing.T) {
	bin, err := os.Executable()
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{
			name:    "seed's hours, files only",
			args:    []string{"--interval", "12", "--no-enable", "--binary", bin},
			wantOut: []string{"wrote ", schedule.ServiceName, schedule.TimerName, "not enabled: run 'systemctl daemon-reload && systemctl enable --now ntp-optimizer.timer'"},
		},
		{name: "bad interval", args: []string{"--interval", "3m", "--no-enable", "--binary", bin}, wantCode: exitUsage, wantErr: "testing.interval_hours = 3m0s (from flag --interval): must be between 5m0s and 168h0m0s"},
		{name: "relative binary", args: []string{"--no-enable", "--binary", "ntp-optimizer"}, wantCode: exitUsage, wantErr: "clean absolute path"},
		{name: "missing binary", args: []string{"--no-enable", "--binary", "/nonexistent/ntp-optimizer"}, wantCode: exitUsage, wantErr: "no such file"},
		{name: "argument", args: []string{"--no-enable", "extra"}, wantCode: exitUsage, wantErr: "install takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, errOut, code := runApp(t, append([]string{"install", "--unit-dir", dir}, tc.args...)...)
			require.Equal(t, tc.wantCode, code, "stdout %s\nstderr %s", out, errOut)
			for _, w := range tc.wantOut {
				require.Contains(t, out, w)
			}
			require.Contains(t, errOut, tc.wantErr)
			if tc.wantCode == 0 {
				b, err := os.ReadFile(filepath.Join(dir, schedule.TimerName))
				require.NoError(t, err)
				require.Contains(t, string(b), "OnUnitActiveSec=12h\n")
				b, err = os.ReadFile(filepath.Join(dir, schedule.ServiceName))
				require.NoError(t, err)
				require.Contains(t, string(b), "ExecStart="+bin+" apply --no-schedule\n")
			}
		})
	}
}

// TestInstallUninstallOverDBus runs the commands against a fake systemd on a
// private bus, reached the way the real one is (DBUS_SYSTEM_BUS_ADDRESS).
func TestInstallUninstallOverDBus(t *testing.T) {
	addr := systemdtest.StartBus(t)
	dir := t.TempDir()
	fake := systemdtest.StartFake(t, addr, dir, schedule.TimerName)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	bin, err := os.Executable()
	require.NoError(t, err)

	out, errOut, code := runApp(t, "install", "--unit-dir", dir, "--binary", bin, "--interval", "90m",
		"--apply-arg=--metrics-file=/var/lib/prometheus/node-exporter/ntp_optimizer.prom")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "enabled and started ntp-optimizer.timer: every 1h 30min, randomized by up to 22min 30s")
	require.True(t, fake.Active(schedule.TimerName))
	require.FileExists(t, filepath.Join(dir, "timers.target.wants", schedule.TimerName))

	out, errOut, code = runApp(t, "uninstall", "--unit-dir", dir)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "stopped and disabled ntp-optimizer.timer")
	require.Contains(t, out, "removed "+filepath.Join(dir, schedule.TimerName))
	require.False(t, fake.Active(schedule.TimerName))
	require.NoFileExists(t, filepath.Join(dir, schedule.ServiceName))

	out, errOut, code = runApp(t, "uninstall", "--unit-dir", dir)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "no unit files to remove")
}

func TestInstallWithoutSystemd(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	if _, err := os.Stat("/run/systemd/private"); err == nil {
		t.Skip("systemd runs here: the private-socket fallback would reach it")
	}
	bin, err := os.Executable()
	require.NoError(t, err)
	_, errOut, code := runApp(t, "install", "--unit-dir", t.TempDir(), "--binary", bin)
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "cannot reach systemd over D-Bus")
	require.Contains(t, errOut, "use --no-enable to only write the unit files")
}
