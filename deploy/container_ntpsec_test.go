package deploy

import (
	"fmt"
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

const ctNTPConf = "/etc/ntpsec/ntp.conf"

// ntpdConfig is the configuration for the ntpd scenario: the packaged
// paths (Debian's /etc/ntpsec/ntp.conf, ntpsec.service), the lab only.
var ntpdConfig = ctConfigFor("ntpd", 3, "")

// refuseBlock makes ntpsec.service refuse to start on an ntp.conf with an
// ntp-optimizer block, as a daemon refusing a configuration would: the
// restart fails, the backend restores the file and restarts it again.
const refuseBlock = `[Service]
ExecStartPre=/bin/sh -c '! grep -q "^# BEGIN ntp-optimizer" ` + ctNTPConf + `'
`

// TestContainerNTPsec runs the ntpd backend through the packaged service
// against Debian's ntpsec.service under a real systemd: a restart that
// fails is rolled back (ntp.conf byte for byte, ntpd running again, exit
// status 3 with the reason at error priority); then a change is written,
// ntpsec restarted over D-Bus and verified over mode 6, and ntpd reaches
// the lab's servers. The container has its own network (ntpd refuses
// 127.x servers other than 127.0.0.1 and binds port 123): the lab serves
// on 10.123.N.1:123 inside it.
func TestContainerNTPsec(t *testing.T) {
	nspawntest.Need(t)
	debs := buildDebs(t)
	t.Parallel()

	c := nspawntest.Boot(t, nspawntest.NTPsec, nspawntest.Options{Files: nspawntest.NTPsecDropIn, PrivateNetwork: true})
	// ntpd binds port 123 on every address it sees: stopped while the lab
	// takes its addresses, then told to listen on 127.0.0.1 (its mode 6
	// port) and on an address of its own to send from (ntpd does not
	// send from a loopback address to others), which leaves the lab's
	// addresses to the lab.
	c.Run("systemctl", "stop", "ntpsec.service")
	client := netip.MustParseAddr("10.123.0.1")
	c.AddAddress(client)
	lab := labIn(t, c, labtest.Scenario(t, "container-ntpd",
		ntplab.Profile{Name: "good", Truth: ntplab.TruthGood, Count: 3, Delay: 2 * time.Millisecond, Jitter: 100 * time.Microsecond},
		ntplab.Profile{Name: "falseticker", Truth: ntplab.TruthFalseticker, Offset: 300 * time.Millisecond, Delay: 2 * time.Millisecond},
	), netip.MustParseAddr("10.123.1.1"))
	good := goodServers(lab)

	// Debian's ntp.conf with one good lab server for its pools.
	conf, err := c.ReadFile(ctNTPConf)
	require.NoError(t, err)
	conf = regexp.MustCompile(`(?m)^pool `).ReplaceAllString(conf, "#pool ") +
		"interface ignore wildcard\ninterface ignore all\ninterface listen 127.0.0.1\ninterface listen " + client.String() + "\n" +
		fmt.Sprintf("server %s iburst\n", good[0].Addr().Addr())
	c.WriteFile(ctNTPConf, conf, 0o644)
	c.Run("systemctl", "start", "ntpsec.service")
	c.WaitActive("ntpsec.service", 30*time.Second)

	installDeb(t, c, debs["1.0.0"])
	c.WriteFile(ctConfig, ntpdConfig, 0o600)
	c.WriteFile(ctServers, serversFile(lab.Servers(), false), 0o644)

	ctStep(t, c, "restart fails: rolled back", false, func(t *testing.T, c *nspawntest.Container) {
		c.WriteFile("/etc/systemd/system/ntpsec.service.d/refuse.conf", refuseBlock, 0o644)
		defer func() {
			c.Run("rm", "/etc/systemd/system/ntpsec.service.d/refuse.conf")
			c.Run("systemctl", "daemon-reload")
			c.Run("systemctl", "reset-failed", ctService)
		}()
		c.Run("systemctl", "daemon-reload")
		ntpd := show(c, "ntpsec.service", "InvocationID")
		_, code := startService(c)
		require.NotZero(t, code, "the run succeeded: %s", c.Journal(ctService, ""))
		require.Equal(t, "3", show(c, ctService, "ExecMainStatus"), "exit status 3: rolled back\n%s", c.Journal(ctService, ""))
		got, err := c.ReadFile(ctNTPConf)
		require.NoError(t, err)
		require.Equal(t, conf, got, "ntp.conf after the rollback")
		require.Equal(t, "active", c.ActiveState("ntpsec.service"), "ntpd is not running again after the rollback")
		require.NotEqual(t, ntpd, show(c, "ntpsec.service", "InvocationID"), "ntpsec was not restarted")
		c.Eventually(5*time.Second, "the rollback's reason is not at error priority", func() (bool, string) {
			own := unitErrors(c, ctService)
			return strings.Contains(own, "ntpsec.service"), own
		})
		t.Logf("journalctl -u ntp-optimizer -p err:\n%s", c.Journal(ctService, "err"))
	})

	ctStep(t, c, "restart and verify", true, func(t *testing.T, c *nspawntest.Container) {
		ntpd := show(c, "ntpsec.service", "InvocationID")
		out, code := startService(c)
		require.Zero(t, code, "systemctl start %s: %s\n%s", ctService, out, c.Journal(ctService, ""))
		require.Equal(t, "success", show(c, ctService, "Result"))
		require.NotEqual(t, ntpd, show(c, "ntpsec.service", "InvocationID"), "ntpsec was not restarted")
		got, err := c.ReadFile(ctNTPConf)
		require.NoError(t, err)
		require.Contains(t, got, "# BEGIN ntp-optimizer")
		block := got[strings.Index(got, "# BEGIN ntp-optimizer"):]
		n := 0
		for _, s := range good {
			if strings.Contains(block, "server "+s.Addr().Addr().String()) {
				n++
			}
		}
		require.GreaterOrEqual(t, n, 2, "the block has %d of the lab's good servers:\n%s", n, block)
		require.NotContains(t, block, lab.Server("falseticker").Addr().Addr().String())
		// ntpd itself reaches them (ntpq -pn: reach is not 0).
		c.Eventually(30*time.Second, "ntpd does not reach the lab's good servers", func() (bool, string) {
			out, _ := c.Exec("ntpq", "-pn")
			reached := 0
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) > 6 && f[6] != "0" && strings.Contains(block, "server "+strings.TrimLeft(f[0], "*+-#ox.")) {
					reached++
				}
			}
			return reached >= 2, out
		})
		errs, _ := c.Exec("journalctl", "--no-pager", "-q", "-p", "err", "-o", "cat", "_SYSTEMD_INVOCATION_ID="+show(c, ctService, "InvocationID"))
		assert.Empty(t, strings.TrimSpace(errs), "a successful run logged errors")
	})
}
