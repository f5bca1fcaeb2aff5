package nspawntest_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/nspawntest"
)

// TestBootChrony boots the chrony root: systemd is PID 1, chronyd runs
// under Debian's unit with -x and without CAP_SYS_TIME, Exec and the
// journal work, and the cached root is left untouched.
func TestBootChrony(t *testing.T) {
	c := nspawntest.Boot(t, nspawntest.Chrony, nspawntest.Options{Files: nspawntest.ChronyFiles(t)})
	require.Equal(t, "systemd\n", c.Run("cat", "/proc/1/comm"))
	c.WaitActive("chrony.service", 30*time.Second)
	c.Eventually(10*time.Second, "chronyd did not log that it leaves the clock alone", func() (bool, string) {
		j := c.Journal("chrony.service", "")
		return strings.Contains(j, "Disabled control of system clock"), j
	})
	// CAP_SYS_TIME (bit 25) is not even in chronyd's bounding set.
	status := c.Run("sh", "-c", "grep -E '^CapBnd' /proc/$(cat /run/chrony/chronyd.pid)/status")
	f := strings.Fields(status)
	require.Len(t, f, 2, status)
	bnd, err := strconv.ParseUint(f[1], 16, 64)
	require.NoError(t, err)
	require.Zero(t, bnd&(1<<capSysTime), "chronyd may set the clock: %s", status)

	c.WriteFile("/etc/ntpo-test", "x\n", 0o600)
	require.Equal(t, "x\n", c.Run("cat", "/etc/ntpo-test"))
	require.NoFileExists(t, nspawntest.Chrony.Path()+"/etc/ntpo-test", "the overlay writes to the cache")

	out, code := c.ExitCode("sh", "-c", "exit 3")
	require.Equal(t, 3, code, out)
}

// capSysTime is CAP_SYS_TIME's bit in /proc/PID/status capability masks.
const capSysTime = 25
