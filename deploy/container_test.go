package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/nspawntest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

// chronyConfig is /etc/ntp-optimizer/config.toml for the chrony scenario.
var chronyConfig = ctConfigFor("chrony", 4, `
[chrony]
source_options = "iburst minpoll -2 maxpoll 0"
answer_timeout = "15s"
verify_timeout = "20s"
`)

// TestContainerChronyPackage is the package's life on a booted Debian 12
// with Debian's chrony (chronyd -x) and a lab on loopback: install changes
// nothing; the packaged service runs apply under its hardening and chronyd
// takes the lab's good servers; the timer fires with a short interval
// drop-in; a failed run's reason is in the journal at error priority; an
// upgrade keeps the configuration and the administrator's timer; remove
// and purge.
func TestContainerChronyPackage(t *testing.T) {
	nspawntest.Need(t)
	debs := buildDebs(t)
	t.Parallel()

	lab := labtest.StartWith(t, labtest.Scenario(t, "container",
		ntplab.Profile{Name: "good", Truth: ntplab.TruthGood, Count: 4, Delay: 2 * time.Millisecond, Jitter: 100 * time.Microsecond},
		ntplab.Profile{Name: "jittery", Truth: ntplab.TruthJittery, Delay: 30 * time.Millisecond, Jitter: 8 * time.Millisecond},
		ntplab.Profile{Name: "falseticker", Truth: ntplab.TruthFalseticker, Offset: 300 * time.Millisecond, Delay: 2 * time.Millisecond},
		ntplab.Profile{Name: "silent", Truth: ntplab.TruthSilent, Silent: true},
	), ntplab.Options{Spread: true})
	good := goodServers(lab)
	// chronyd starts on one good server: with -x its clock is virtual and
	// follows its selected source, and the auditions measure new servers
	// against it (on a jittery one they scatter by its jitter and the run
	// finds no majority).
	initial := good[0].Addr()

	// Debian's chrony.conf without its pool (no internet here), chronyd on
	// one good lab server.
	c := nspawntest.Boot(t, nspawntest.Chrony, nspawntest.Options{Files: nspawntest.ChronyFiles(t,
		fmt.Sprintf("server %s port %d iburst minpoll -2 maxpoll 0", initial.Addr(), initial.Port()))})
	c.WaitActive("chrony.service", 30*time.Second)
	before := chronySources(t, c)
	require.Contains(t, before, initial.Addr().String())

	ctStep(t, c, "install", true, func(t *testing.T, c *nspawntest.Container) {
		installDeb(t, c, debs["1.0.0"])
		require.Contains(t, c.Run("dpkg-query", "-W", "-f", "${Status} ${Version}", "ntp-optimizer"), "install ok installed 1.0.0")
		require.Equal(t, "loaded", show(c, ctService, "LoadState"))
		require.Equal(t, "loaded", show(c, ctTimer, "LoadState"))
	})
	ctStep(t, c, "install changes nothing", false, func(t *testing.T, c *nspawntest.Container) {
		out, _ := c.Exec("systemctl", "is-enabled", ctTimer)
		assert.Equal(t, "disabled", strings.TrimSpace(out), "installing enables the timer")
		assert.Equal(t, "inactive", c.ActiveState(ctTimer), "installing starts the timer")
		assert.NoFileExists(t, c.Path(ctTimerLink))
		assert.Equal(t, "0", show(c, ctService, "ExecMainStartTimestampMonotonic"), "the service ran")
		assert.NoFileExists(t, c.Path(ctSources))
		assert.Equal(t, keys(before), keys(chronySources(t, c)), "chronyd's sources changed")
	})

	var selected []string // the good servers the runs added to chronyd
	ctStep(t, c, "service applies", true, func(t *testing.T, c *nspawntest.Container) {
		c.WriteFile(ctConfig, chronyConfig, 0o600)
		c.WriteFile(ctServers, serversFile(lab.Servers(), true), 0o644)
		out, code := startService(c)
		require.Zero(t, code, "systemctl start %s: %s\n%s", ctService, out, c.Journal(ctService, ""))
		require.Equal(t, "success", show(c, ctService, "Result"))
		require.Equal(t, "0", show(c, ctService, "ExecMainStatus"))
		// The set of 4 is the 4 good servers: chrony.conf's and 3 added;
		// never the jittery, falseticking or silent ones.
		got := chronySources(t, c)
		for _, s := range good[1:] {
			if _, ok := got[s.Addr().Addr().String()]; ok {
				selected = append(selected, s.Addr().Addr().String())
			}
		}
		require.Len(t, selected, 3, "chronyd has %d of the lab's good servers: %v\n%s", len(selected), keys(got), c.Journal(ctService, ""))
		for _, n := range []string{"jittery", "falseticker", "silent"} {
			require.NotContains(t, got, lab.Server(n).Addr().Addr().String(), "chronyd uses the %s server", n)
		}
		sources, err := c.ReadFile(ctSources)
		require.NoError(t, err, "the sources file in chronyd's sourcedir")
		require.Regexp(t, `^# .*ntp-optimizer`, sources)
		for _, a := range selected {
			require.Contains(t, sources, "server "+a+" ")
		}
		out, _ = c.Exec("systemctl", "is-enabled", ctTimer)
		require.Equal(t, "disabled", strings.TrimSpace(out), "the service runs apply --no-schedule")
	})

	ctStep(t, c, "timer fires", true, func(t *testing.T, c *nspawntest.Container) {
		// Two runs by the timer: the first OnActiveSec after its start, the
		// next OnUnitActiveSec after that one started.
		finished := func() int { return strings.Count(c.Journal(ctService, ""), "Finished "+ctService) }
		runs := finished()
		c.WriteFile(ctInterval, shortTimer(time.Second, 3*time.Second), 0o644)
		c.Run("systemctl", "daemon-reload")
		c.Run("systemctl", "start", ctTimer)
		c.Eventually(60*time.Second, "the timer did not run the service twice", func() (bool, string) {
			return finished() >= runs+2, c.Run("systemctl", "list-timers", "--all", "--no-pager", ctTimer) + c.Journal(ctService, "")
		})
		require.NotEmpty(t, show(c, ctTimer, "LastTriggerUSec"))
		c.Run("systemctl", "stop", ctTimer)
		c.Eventually(ctRunTimeout, "the last run did not finish", func() (bool, string) {
			return c.ActiveState(ctService) != "activating", c.ActiveState(ctService)
		})
		require.Equal(t, "success", show(c, ctService, "Result"), c.Journal(ctService, ""))
		// The administrator keeps the timer, on a real interval.
		c.WriteFile(ctInterval, shortTimer(time.Hour, time.Hour), 0o644)
		c.Run("systemctl", "daemon-reload")
		c.Run("systemctl", "enable", "--now", ctTimer)
	})

	ctStep(t, c, "failed run logs its reason at error priority", false, func(t *testing.T, c *nspawntest.Container) {
		c.Run("systemctl", "stop", "chrony.service")
		defer func() {
			c.Run("systemctl", "start", "chrony.service")
			c.WaitActive("chrony.service", 30*time.Second)
		}()
		_, code := startService(c)
		require.NotZero(t, code, "the run succeeded without chronyd")
		require.Equal(t, "exit-code", show(c, ctService, "Result"))
		c.Eventually(5*time.Second, "journalctl -u ntp-optimizer -p err shows only systemd's lines, not the run's reason", func() (bool, string) {
			own := unitErrors(c, ctService)
			return strings.Contains(own, "chronyd"), "the program's own lines at err:\n" + own +
				"\n\nall its lines with priorities:\n" + c.Run("journalctl", "--no-pager", "-q", "-b", "-o", "json", "--output-fields=PRIORITY,MESSAGE", "_SYSTEMD_UNIT="+ctService)
		})
		errs := c.Journal(ctService, "err")
		assert.Contains(t, errs, "chronyd", "journalctl -u ntp-optimizer -p err")
		t.Logf("journalctl -u ntp-optimizer -p err:\n%s", errs)
	})

	ctStep(t, c, "upgrade", true, func(t *testing.T, c *nspawntest.Container) {
		config, err := c.ReadFile(ctConfig)
		require.NoError(t, err)
		installDeb(t, c, debs["1.0.1"])
		require.Contains(t, c.Run("dpkg-query", "-W", "-f", "${Status} ${Version}", "ntp-optimizer"), "install ok installed 1.0.1")
		got, err := c.ReadFile(ctConfig)
		require.NoError(t, err)
		require.Equal(t, config, got, "the upgrade changed the administrator's configuration")
		out, _ := c.Exec("systemctl", "is-enabled", ctTimer)
		require.Equal(t, "enabled", strings.TrimSpace(out), "the upgrade lost the administrator's timer")
		require.Equal(t, "active", c.ActiveState(ctTimer))
		require.FileExists(t, c.Path(ctInterval))
		require.FileExists(t, c.Path(ctSources))
	})

	ctStep(t, c, "remove", true, func(t *testing.T, c *nspawntest.Container) {
		c.Run("dpkg", "-r", "ntp-optimizer")
		require.NoFileExists(t, c.Path("/usr/sbin/ntp-optimizer"))
		require.NoFileExists(t, c.Path("/lib/systemd/system/"+ctTimer))
		require.NotEqual(t, "active", c.ActiveState(ctTimer))
		require.FileExists(t, c.Path(ctConfig), "remove keeps the configuration")
		require.FileExists(t, c.Path(ctSources), "remove keeps chronyd's sources file")
		got := chronySources(t, c)
		for _, a := range selected {
			require.Contains(t, got, a, "remove changed chronyd's sources")
		}
	})

	ctStep(t, c, "purge", false, func(t *testing.T, c *nspawntest.Container) {
		// chronyd reads the sources file at its start: after a restart the
		// good servers are in chronyd from the file, which purge removes.
		c.Run("systemctl", "restart", "chrony.service")
		c.WaitActive("chrony.service", 30*time.Second)
		c.Eventually(20*time.Second, "chronyd did not read the sources file", func() (bool, string) {
			got := chronySources(t, c)
			for _, a := range selected {
				if _, ok := got[a]; !ok {
					return false, fmt.Sprint(keys(got))
				}
			}
			return true, ""
		})
		c.Run("dpkg", "-P", "ntp-optimizer")
		assert.NoFileExists(t, c.Path(ctConfig))
		assert.NoDirExists(t, c.Path(ctState), "purge keeps the state")
		assert.NoFileExists(t, c.Path(ctInterval), "purge keeps the interval drop-in")
		assert.NoFileExists(t, c.Path(ctTimerLink), "purge keeps the timer's enablement")
		assert.NoFileExists(t, c.Path(ctSources), "purge keeps the sources file in chronyd's sourcedir")
		c.Eventually(10*time.Second, "chronyd still uses the purged sources file's servers", func() (bool, string) {
			got := chronySources(t, c)
			for _, a := range selected {
				if _, ok := got[a]; ok {
					return false, fmt.Sprint(keys(got))
				}
			}
			return true, ""
		})
		assert.Contains(t, chronySources(t, c), initial.Addr().String(), "chrony.conf's server")
	})
}

// chronySources is chronyd's sources in the container (chronyc -n
// sources, the cross-check the house style allows tests): address -> line.
func chronySources(t *testing.T, c *nspawntest.Container) map[string]string {
	t.Helper()
	out := c.Run("chronyc", "-n", "sources")
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && len(f[0]) == 2 && strings.ContainsAny(f[0][:1], "^=#") {
			m[f[1]] = line
		}
	}
	return m
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
