package deploy

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/nspawntest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

const ctTimesyncdDropIn = "/etc/systemd/timesyncd.conf.d/ntp-optimizer.conf"

// timesyncdConfig is the configuration for the timesyncd scenario.
var timesyncdConfig = ctConfigFor("timesyncd", 3, "")

// TestContainerTimesyncd runs the timesyncd backend through the packaged
// service against Debian's systemd-timesyncd over the real system bus:
// the drop-in names the lab's good servers, timesyncd gets a reply from
// one of them (it cannot set the clock: no CAP_SYS_TIME in the container),
// and purge removes the drop-in and restarts timesyncd. timesyncd talks
// to port 123 only, so the container has its own network with the lab on
// 10.124.N.1:123.
func TestContainerTimesyncd(t *testing.T) {
	nspawntest.Need(t)
	debs := buildDebs(t)
	t.Parallel()

	// Debian's fallback servers (the pool) are unreachable here; after a
	// failed attempt timesyncd waits ConnectionRetrySec (30 s by default)
	// before it tries the servers the run sets: 1 s keeps the test short.
	c := nspawntest.Boot(t, nspawntest.Timesyncd, nspawntest.Options{PrivateNetwork: true, Files: merge(nspawntest.TimesyncdDropIn, map[string]string{
		"/etc/systemd/timesyncd.conf.d/lab.conf": "[Time]\nConnectionRetrySec=1\n",
	})})
	c.WaitActive("systemd-timesyncd.service", 30*time.Second)
	lab := labIn(t, c, labtest.Scenario(t, "container-timesyncd",
		ntplab.Profile{Name: "good", Truth: ntplab.TruthGood, Count: 3, Delay: 2 * time.Millisecond, Jitter: 100 * time.Microsecond},
		ntplab.Profile{Name: "falseticker", Truth: ntplab.TruthFalseticker, Offset: 300 * time.Millisecond, Delay: 2 * time.Millisecond},
	), netip.MustParseAddr("10.124.1.1"))
	good := map[string]bool{}
	for _, s := range goodServers(lab) {
		good[s.Addr().Addr().String()] = true
	}

	installDeb(t, c, debs["1.0.0"])
	require.DirExists(t, c.Path("/etc/systemd/timesyncd.conf.d"), "postinst makes the drop-in directory for the sandboxed service")
	c.WriteFile(ctConfig, timesyncdConfig, 0o600)
	c.WriteFile(ctServers, serversFile(lab.Servers(), false), 0o644)

	ctStep(t, c, "service applies", true, func(t *testing.T, c *nspawntest.Container) {
		out, code := startService(c)
		require.Zero(t, code, "systemctl start %s: %s\n%s", ctService, out, c.Journal(ctService, ""))
		require.Equal(t, "success", show(c, ctService, "Result"))
		dropIn, err := c.ReadFile(ctTimesyncdDropIn)
		require.NoError(t, err)
		// The last NTP= wins (the first, empty, resets the list).
		all := regexp.MustCompile(`(?m)^NTP=(.*)$`).FindAllStringSubmatch(dropIn, -1)
		require.NotEmpty(t, all, dropIn)
		names := strings.Fields(all[len(all)-1][1])
		require.GreaterOrEqual(t, len(names), 2, dropIn)
		for _, n := range names {
			require.True(t, good[n], "the drop-in names %s, not a good lab server:\n%s", n, dropIn)
		}
	})

	ctStep(t, c, "timesyncd gets a reply from the lab", true, func(t *testing.T, c *nspawntest.Container) {
		c.Eventually(30*time.Second, "timesyncd has no reply from a lab server", func() (bool, string) {
			out, _ := c.Exec("timedatectl", "show-timesync")
			addr := regexp.MustCompile(`(?m)^ServerAddress=(.*)$`).FindStringSubmatch(out)
			return addr != nil && good[addr[1]] && regexp.MustCompile(`NTPMessage=\{.*Stratum=2,.*PacketCount=[1-9]`).MatchString(out), out
		})
		// It cannot set the clock: CAP_SYS_TIME (bit 25) is not in its
		// bounding set, and it says so.
		require.Zero(t, capBounding(t, c, show(c, "systemd-timesyncd.service", "MainPID"))&(1<<capSysTime), "CAP_SYS_TIME in timesyncd's bounding set")
		assert.Contains(t, c.Journal("systemd-timesyncd.service", ""), "Operation not permitted")
	})

	ctStep(t, c, "purge removes the drop-in", false, func(t *testing.T, c *nspawntest.Container) {
		c.Run("dpkg", "-P", "ntp-optimizer")
		require.NoFileExists(t, c.Path(ctTimesyncdDropIn))
		c.Eventually(10*time.Second, "timesyncd still has the lab's servers", func() (bool, string) {
			out, _ := c.Exec("timedatectl", "show-timesync", "-p", "SystemNTPServers", "--value")
			return strings.TrimSpace(out) == "", out
		})
	})
}
