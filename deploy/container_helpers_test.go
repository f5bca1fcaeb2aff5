package deploy

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/nspawntest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
)

// Paths of the package inside the containers.
const (
	ctConfig    = "/etc/ntp-optimizer/config.toml"
	ctServers   = "/etc/ntp-optimizer/lab.servers"
	ctState     = "/var/lib/ntp-optimizer"
	ctService   = "ntp-optimizer.service"
	ctTimer     = "ntp-optimizer.timer"
	ctTimerLink = "/etc/systemd/system/timers.target.wants/ntp-optimizer.timer"
	ctInterval  = "/etc/systemd/system/ntp-optimizer.timer.d/interval.conf"
	ctSources   = "/etc/chrony/sources.d/ntp-optimizer.sources"
)

// ctConfigFor is /etc/ntp-optimizer/config.toml for a container scenario
// of backend: the lab only, the packaged paths, short spacing and
// timeouts, a set of setSize (at least 2); sections are the backend's own,
// written before [testing].
func ctConfigFor(backend string, setSize int, sections string) string {
	return `# ntp-optimizer test configuration (deploy/container*_test.go)
servers_files = ["` + ctServers + `"]
no_discovery = true
backend = "` + backend + `"
` + sections + `
[testing]
samples_per_server = 4
spacing = "250ms"
timeout = 2

[selection]
set_size = ` + strconv.Itoa(setSize) + `
min_set_size = 2
`
}

// ctRunTimeout bounds one "systemctl start ntp-optimizer.service" (a run
// against the lab takes a few seconds).
const ctRunTimeout = 90 * time.Second

// ctStep runs one step of a container scenario as a subtest, with the
// container seen from the subtest. A failed essential step ends the
// scenario (the later ones build on it); the others are reported and the
// scenario goes on.
func ctStep(t *testing.T, c *nspawntest.Container, name string, essential bool, f func(t *testing.T, c *nspawntest.Container)) {
	t.Helper()
	if !t.Run(name, func(t *testing.T) { f(t, c.For(t)) }) && essential {
		t.FailNow()
	}
}

// installDeb copies a .deb into the container and installs it with dpkg -i
// (the package depends on nothing the roots lack).
func installDeb(t *testing.T, c *nspawntest.Container, deb string) {
	t.Helper()
	b, err := os.ReadFile(deb)
	require.NoError(t, err)
	in := "/root/" + filepath.Base(deb)
	require.NoError(t, os.WriteFile(c.Path(in), b, 0o644))
	c.Run("dpkg", "-i", in)
}

// startService runs the packaged service once (systemctl start waits for a
// oneshot unit to finish) and returns systemctl's exit status and output.
func startService(c *nspawntest.Container) (string, int) {
	return c.ExitCode("timeout", fmt.Sprint(ctRunTimeout.Seconds()), "systemctl", "start", ctService)
}

// show is one property of a unit (systemctl show -P).
func show(c *nspawntest.Container, unit, prop string) string {
	out, _ := c.Exec("systemctl", "show", "-P", prop, unit)
	return strings.TrimSpace(out)
}

// unitErrors is what the program itself logged at error priority or above
// in this boot (not systemd's own "Failed to start" lines about the unit).
func unitErrors(c *nspawntest.Container, unit string) string {
	out, _ := c.Exec("journalctl", "--no-pager", "-q", "-b", "-p", "err", "-o", "cat", "_SYSTEMD_UNIT="+unit)
	return strings.TrimSpace(out)
}

// capSysTime is CAP_SYS_TIME's bit in /proc/PID/status capability masks.
const capSysTime = 25

// capBounding is the capability bounding set of a process in the
// container, by its PID there (CapBnd in /proc/PID/status).
func capBounding(t *testing.T, c *nspawntest.Container, pid string) uint64 {
	t.Helper()
	status := c.Run("cat", "/proc/"+pid+"/status")
	m := regexp.MustCompile(`(?m)^CapBnd:\s+([0-9a-f]+)$`).FindStringSubmatch(status)
	require.NotNil(t, m, status)
	v, err := strconv.ParseUint(m[1], 16, 64)
	require.NoError(t, err)
	return v
}

// serversFile lists servers one per line as the servers_files setting
// reads them: ADDRESS or ADDRESS:PORT, then a comment with the lab name.
func serversFile(servers []*ntplab.Server, withPort bool) string {
	var b strings.Builder
	b.WriteString("# the lab on loopback (deploy/container_test.go)\n")
	for _, s := range servers {
		a := s.Addr()
		if withPort {
			fmt.Fprintf(&b, "%s  # %s\n", a, s.Profile().Name)
		} else {
			fmt.Fprintf(&b, "%s  # %s\n", a.Addr(), s.Profile().Name)
		}
	}
	return b.String()
}

// labIn starts sc inside the container's private network on port 123,
// server i on base+i*256 (each in its own /24, for the diversity rules),
// and stops it when the test ends.
func labIn(t *testing.T, c *nspawntest.Container, sc *ntplab.Scenario, base netip.Addr) *ntplab.Lab {
	t.Helper()
	a := base
	for range sc.Expand() {
		c.AddAddress(a)
		b := a.As4()
		b[2]++
		a = netip.AddrFrom4(b)
	}
	var lab *ntplab.Lab
	require.NoError(t, c.InNetNS(func() error {
		var err error
		lab, err = ntplab.Start(sc, ntplab.Options{Base: base, Port: 123, Spread: true})
		return err
	}))
	t.Cleanup(func() { _ = lab.Close() })
	return lab
}

// goodServers are the lab's servers whose ground truth is good.
func goodServers(lab *ntplab.Lab) []*ntplab.Server {
	var out []*ntplab.Server
	for _, s := range lab.Servers() {
		if s.Profile().Truth == ntplab.TruthGood {
			out = append(out, s)
		}
	}
	return out
}

// shortTimer is the timer drop-in the tests install as interval.conf (the
// file "ntp-optimizer install --interval" writes): the packaged schedule
// (monotonic OnBootSec/OnUnitActiveSec, or OnCalendar) is cleared; the
// timer fires first after seconds from its start, then every seconds
// after the service started, without a random delay.
func shortTimer(first, every time.Duration) string {
	return fmt.Sprintf(`# ntp-optimizer test schedule (deploy/container_test.go)
[Timer]
OnBootSec=
OnCalendar=
OnActiveSec=
OnUnitActiveSec=
OnActiveSec=%dms
OnUnitActiveSec=%dms
RandomizedDelaySec=0
AccuracySec=100ms
`, first.Milliseconds(), every.Milliseconds())
}
