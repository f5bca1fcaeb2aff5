package schedule

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd/systemdtest"
	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// packagedUnits writes the packaged units (deploy/systemd) into a
// directory standing for /lib/systemd/system.
func packagedUnits(t *testing.T, binary string) string {
	t.Helper()
	c := DefaultUnitConfig()
	c.Binary = binary
	dir := t.TempDir()
	_, err := Installer{UnitDir: dir, Units: c}.Install(context.Background(), false)
	require.NoError(t, err)
	return dir
}

func TestInstallOverPackagedUnits(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mod         func(*UnitConfig)
		wantService []string // ServiceDropIn's [Service] lines; nil: no such file
	}{
		{name: "interval only", mod: func(c *UnitConfig) { c.Interval = 12 * time.Hour }},
		{
			name: "apply arguments and paths",
			mod: func(c *UnitConfig) {
				c.Interval = 90 * time.Minute
				c.ApplyArgs = []string{"--metrics-file=/var/lib/prometheus/node-exporter/ntp_optimizer.prom"}
				c.WritablePaths = append(append([]string{}, DefaultWritablePaths...), "/etc")
			},
			wantService: []string{
				"ExecStart=", "ExecStart=/usr/sbin/ntp-optimizer apply --no-schedule --metrics-file=/var/lib/prometheus/node-exporter/ntp_optimizer.prom",
				"ReadWritePaths=", "ReadWritePaths=" + strings.Join(DefaultWritablePaths, " ") + " /etc",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := packagedUnits(t, DefaultBinary)
			etc := t.TempDir()
			// A full copy from an earlier "install", enabled: it would
			// shadow the packaged timer, so it goes, with its link.
			_, err := Installer{UnitDir: etc, Units: DefaultUnitConfig()}.Install(context.Background(), false)
			require.NoError(t, err)
			wants := filepath.Join(etc, "timers.target.wants")
			require.NoError(t, os.MkdirAll(wants, 0o755))
			require.NoError(t, os.Symlink(filepath.Join(etc, TimerName), filepath.Join(wants, TimerName)))

			c := DefaultUnitConfig()
			tc.mod(&c)
			in := Installer{UnitDir: etc, Units: c, PackagedDirs: []string{pkg}}
			res, err := in.Install(context.Background(), false)
			require.NoError(t, err)
			require.ElementsMatch(t, []string{filepath.Join(etc, ServiceName), filepath.Join(etc, TimerName)}, res.Removed)
			require.NoFileExists(t, filepath.Join(wants, TimerName))

			b, err := os.ReadFile(filepath.Join(etc, IntervalDropIn))
			require.NoError(t, err)
			require.Equal(t, []string{"", FormatSpan(c.Interval)}, unitValues(string(b), "Timer", "OnUnitActiveSec"))
			require.Equal(t, []string{FormatSpan(c.EffectiveRandomizedDelay())}, unitValues(string(b), "Timer", "RandomizedDelaySec"))
			b, err = os.ReadFile(filepath.Join(etc, ServiceDropIn))
			if tc.wantService == nil {
				require.ErrorIs(t, err, os.ErrNotExist)
			} else {
				require.NoError(t, err)
				var got []string
				for _, k := range []string{"ExecStart", "ReadWritePaths"} {
					for _, v := range unitValues(string(b), "Service", k) {
						got = append(got, k+"="+v)
					}
				}
				require.Equal(t, tc.wantService, got)
			}
			// The packaged units are untouched.
			want := packagedUnits(t, DefaultBinary)
			for _, n := range []string{ServiceName, TimerName} {
				a, _ := os.ReadFile(filepath.Join(pkg, n))
				b, _ := os.ReadFile(filepath.Join(want, n))
				require.Equal(t, string(b), string(a), n)
			}

			// Again: nothing changes.
			res, err = in.Install(context.Background(), false)
			require.NoError(t, err)
			require.Empty(t, res.Files)
			require.Empty(t, res.Removed)

			// Uninstall removes the drop-ins and their directories only.
			res, err = in.Uninstall(context.Background())
			require.NoError(t, err)
			require.NotEmpty(t, res.Files)
			require.NoDirExists(t, filepath.Join(etc, TimerName+".d"))
			require.NoDirExists(t, filepath.Join(etc, ServiceName+".d"))
			require.FileExists(t, filepath.Join(pkg, TimerName))
		})
	}
}

// TestInstallOverPackagedUnitsOverDBus enables the packaged timer by name.
func TestInstallOverPackagedUnitsOverDBus(t *testing.T) {
	addr := systemdtest.StartBus(t)
	pkg := packagedUnits(t, DefaultBinary)
	fake := systemdtest.StartFake(t, addr, pkg, TimerName)
	sd, err := systemd.ConnectAddress(ctx10(t), addr)
	require.NoError(t, err)
	t.Cleanup(sd.Close)
	c := DefaultUnitConfig()
	c.Interval = 12 * time.Hour
	etc := t.TempDir()
	res, err := Installer{UnitDir: etc, Units: c, Manager: sd, PackagedDirs: []string{pkg}}.Install(ctx10(t), true)
	require.NoError(t, err)
	require.True(t, res.Enabled)
	require.Equal(t, []string{filepath.Join(etc, IntervalDropIn)}, res.Files)
	require.Equal(t, []string{"Reload()", "EnableUnitFiles(" + TimerName + ",false,true)", "StartUnit(" + TimerName + ",replace)"}, calls(fake))
	require.True(t, fake.Active(TimerName))
}

// TestSystemdAnalyzeVerifyDropIns checks the packaged units with the
// drop-ins as systemd loads them (SYSTEMD_UNIT_PATH: the drop-in directory
// first, as /etc comes before /lib).
func TestSystemdAnalyzeVerifyDropIns(t *testing.T) {
	analyze := testtool.Need(t, "systemd-analyze", "systemd")
	bin, err := os.Executable()
	require.NoError(t, err)
	pkg := packagedUnits(t, bin)
	etc := t.TempDir()
	c := DefaultUnitConfig()
	c.Binary = bin
	c.Interval = 90 * time.Minute
	c.ApplyArgs = []string{"--keep", "time 1%"}
	_, err = Installer{UnitDir: etc, Units: c, PackagedDirs: []string{pkg}}.Install(context.Background(), false)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(etc, ServiceDropIn))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, "verify", "--man=no", TimerName, ServiceName)
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+etc+":"+pkg+":") // a trailing colon appends the default path
	cmd.Dir = etc
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify found problems")
}
