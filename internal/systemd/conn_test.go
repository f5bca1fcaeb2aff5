package systemd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd/systemdtest"
)

func connect(t *testing.T) (*systemdtest.Fake, *systemd.Conn) {
	t.Helper()
	addr := systemdtest.StartBus(t)
	fake := systemdtest.StartFake(t, addr, t.TempDir(), "x.timer")
	c, err := systemd.ConnectAddress(t.Context(), addr)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return fake, c
}

func TestJobs(t *testing.T) {
	fake, c := connect(t)
	ctx := t.Context()

	err := c.Start(ctx, "unknown.service")
	require.True(t, systemd.IsError(err, systemd.ErrNameNoSuchUnit), "%v", err)
	require.NoError(t, c.Stop(ctx, "unknown.service"), "a unit systemd does not know is stopped")

	fake.SetState("ntpsec.service", "inactive")
	require.NoError(t, c.Start(ctx, "ntpsec.service"))
	require.True(t, fake.Active("ntpsec.service"))
	require.NoError(t, c.Restart(ctx, "ntpsec.service"))
	st, err := c.ActiveState(ctx, "ntpsec.service")
	require.NoError(t, err)
	require.Equal(t, "active", st)
	require.NoError(t, c.Stop(ctx, "ntpsec.service"))
	require.False(t, fake.Active("ntpsec.service"))

	fake.OnRestart(func(string) error { return errors.New("exec failed") })
	err = c.Restart(ctx, "ntpsec.service")
	require.ErrorIs(t, err, systemd.ErrJobFailed)
	require.EqualError(t, err, "systemd job failed: restart ntpsec.service: failed (see journalctl -u ntpsec.service)")
	st, err = c.ActiveState(ctx, "ntpsec.service")
	require.NoError(t, err)
	require.Equal(t, "failed", st)
	require.Equal(t, []string{"ntpsec.service", "ntpsec.service"}, fake.Restarts())

	st, err = c.ActiveState(ctx, "never-heard-of.service")
	require.NoError(t, err)
	require.Equal(t, "inactive", st)
}

func TestJobWaitBoundedByContext(t *testing.T) {
	fake, c := connect(t)
	fake.SetState("slow.service", "active")
	release := make(chan struct{})
	fake.OnRestart(func(string) error { <-release; return nil })
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := c.Restart(ctx, "slow.service")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "waiting for job")
}

func TestUnitFilesAndProperties(t *testing.T) {
	fake, c := connect(t)
	ctx := t.Context()
	require.NoError(t, c.DisableUnitFiles(ctx, []string{"/nonexistent/x.timer"}), "already disabled")
	err := c.EnableUnitFiles(ctx, []string{"/nonexistent/x.timer"})
	require.True(t, systemd.IsError(err, systemd.ErrNameFileNotFound), "%v", err)

	fake.SetTimer("x.timer", 1, 2, 3)
	v, err := c.Uint64Property(ctx, "x.timer", systemd.TimerInterface, "NextElapseUSecMonotonic")
	require.NoError(t, err)
	require.Equal(t, uint64(3), v)
	_, err = c.Uint64Property(ctx, "x.timer", systemd.UnitInterface, "ActiveState")
	require.ErrorContains(t, err, "want a uint64")
}

func TestUnitPath(t *testing.T) {
	require.Equal(t, "/org/freedesktop/systemd1/unit/systemd_2dtimesyncd_2eservice", string(systemd.UnitPath("systemd-timesyncd.service")))
	require.Equal(t, "/org/freedesktop/systemd1/unit/_31x_40y_2eservice", string(systemd.UnitPath("1x@y.service")))
}

func TestConnectAddressUnreachable(t *testing.T) {
	_, err := systemd.ConnectAddress(t.Context(), "unix:path=/nonexistent/bus")
	require.ErrorContains(t, err, "cannot reach systemd on unix:path=/nonexistent/bus")
}
