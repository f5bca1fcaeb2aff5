package schedule

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd/systemdtest"
)

// lab is a fake systemd on a private bus, and the real client connected
// to it.
type lab struct {
	fake    *systemdtest.Fake
	sd      *systemd.Conn
	unitDir string
}

func startLab(t *testing.T) *lab {
	t.Helper()
	addr := systemdtest.StartBus(t)
	dir := t.TempDir()
	fake := systemdtest.StartFake(t, addr, dir, TimerName)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sd, err := systemd.ConnectAddress(ctx, addr)
	require.NoError(t, err)
	t.Cleanup(sd.Close)
	return &lab{fake: fake, sd: sd, unitDir: dir}
}

func (l *lab) installer() Installer {
	c := DefaultUnitConfig()
	c.Binary = "/usr/sbin/ntp-optimizer"
	return Installer{UnitDir: l.unitDir, Units: c, Manager: l.sd}
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func calls(f *systemdtest.Fake) []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, c.String())
	}
	return out
}

func TestInstallEnablesTimerOverDBus(t *testing.T) {
	l := startLab(t)
	timerPath := filepath.Join(l.unitDir, TimerName)
	res, err := l.installer().Install(ctx10(t), true)
	require.NoError(t, err)
	require.True(t, res.Enabled)
	require.ElementsMatch(t, []string{filepath.Join(l.unitDir, ServiceName), timerPath}, res.Files)
	require.Equal(t, []string{
		"Reload()",
		"EnableUnitFiles(" + timerPath + ",false,true)",
		"StartUnit(" + TimerName + ",replace)",
	}, calls(l.fake))
	require.True(t, l.fake.Loaded(ServiceName))
	require.True(t, l.fake.Active(TimerName))
	link, err := os.Readlink(filepath.Join(l.unitDir, "timers.target.wants", TimerName))
	require.NoError(t, err)
	require.Equal(t, timerPath, link)
	for _, name := range []string{ServiceName, TimerName} {
		fi, err := os.Stat(filepath.Join(l.unitDir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	}

	// Installing again with the same settings changes no file.
	res, err = l.installer().Install(ctx10(t), true)
	require.NoError(t, err)
	require.Empty(t, res.Files)
	require.Len(t, res.Unchanged, 2)

	// A new interval rewrites the timer only.
	in := l.installer()
	in.Units.Interval = 12 * time.Hour
	res, err = in.Install(ctx10(t), true)
	require.NoError(t, err)
	require.Equal(t, []string{timerPath}, res.Files)
	b, err := os.ReadFile(timerPath)
	require.NoError(t, err)
	require.Contains(t, string(b), "OnUnitActiveSec=12h\n")
}

func TestInstallNoEnable(t *testing.T) {
	l := startLab(t)
	res, err := l.installer().Install(ctx10(t), false)
	require.NoError(t, err)
	require.False(t, res.Enabled)
	require.Equal(t, []string{"Reload()"}, calls(l.fake))
	require.False(t, l.fake.Active(TimerName))
	require.NoFileExists(t, filepath.Join(l.unitDir, "timers.target.wants", TimerName))
}

func TestInstallFailedJob(t *testing.T) {
	l := startLab(t)
	l.fake.SetJobResult("failed")
	_, err := l.installer().Install(ctx10(t), true)
	require.ErrorIs(t, err, systemd.ErrJobFailed)
	require.Contains(t, err.Error(), "start ntp-optimizer.timer: failed")
}

func TestUninstall(t *testing.T) {
	l := startLab(t)
	_, err := l.installer().Install(ctx10(t), true)
	require.NoError(t, err)
	before := len(l.fake.Calls())

	res, err := l.installer().Uninstall(ctx10(t))
	require.NoError(t, err)
	require.True(t, res.Disabled)
	timerPath := filepath.Join(l.unitDir, TimerName)
	require.Equal(t, []string{
		"StopUnit(" + TimerName + ",replace)",
		"DisableUnitFiles(" + timerPath + ",false)",
		"Reload()",
	}, calls(l.fake)[before:])
	require.False(t, l.fake.Active(TimerName))
	require.NoFileExists(t, timerPath)
	require.NoFileExists(t, filepath.Join(l.unitDir, ServiceName))
	require.NoFileExists(t, filepath.Join(l.unitDir, "timers.target.wants", TimerName))

	// Again: systemd no longer knows the timer (NoSuchUnit, FileNotFound);
	// uninstall is idempotent.
	res, err = l.installer().Uninstall(ctx10(t))
	require.NoError(t, err)
	require.Empty(t, res.Files)
}

func TestTimerTimes(t *testing.T) {
	l := startLab(t)
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	mono := 5000 * time.Second // the machine booted 5000 s ago
	clocks := func() (time.Time, time.Duration) { return now, mono }
	last := now.Add(-2 * time.Hour)
	for _, tc := range []struct {
		name                   string
		last, nextRT, nextMono uint64
		wantLast, wantNext     time.Time
		wantString             string
	}{
		{name: "never ran, not scheduled", wantString: "last run never, next run not scheduled"},
		{
			name:     "monotonic timer (OnUnitActiveSec)",
			last:     uint64(last.UnixMicro()),
			nextMono: uint64((mono + 4*time.Hour).Microseconds()),
			wantLast: last, wantNext: now.Add(4 * time.Hour),
		},
		{
			name:     "calendar timer",
			last:     uint64(last.UnixMicro()),
			nextRT:   uint64(now.Add(time.Hour).UnixMicro()),
			nextMono: ^uint64(0),
			wantLast: last, wantNext: now.Add(time.Hour),
		},
		{name: "infinity is not scheduled", nextRT: ^uint64(0), nextMono: ^uint64(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.fake.SetTimer(TimerName, tc.last, tc.nextRT, tc.nextMono)
			got, err := ReadTimerTimes(ctx10(t), l.sd, TimerName, clocks)
			require.NoError(t, err)
			require.True(t, tc.wantLast.Equal(got.Last), "last %v, want %v", got.Last, tc.wantLast)
			require.True(t, tc.wantNext.Equal(got.Next), "next %v, want %v", got.Next, tc.wantNext)
			if tc.wantString != "" {
				require.Equal(t, tc.wantString, got.String())
			}
		})
	}
	_, err := ReadTimerTimes(ctx10(t), l.sd, "other.timer", clocks)
	require.Error(t, err)
}

func TestConnectAddressUnreachable(t *testing.T) {
	_, err := systemd.ConnectAddress(ctx10(t), "unix:path="+filepath.Join(t.TempDir(), "none"))
	require.ErrorContains(t, err, "cannot reach systemd")
}
