package fallback

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
)

// capSysTime is CAP_SYS_TIME's bit in /proc/PID/status capability masks.
const capSysTime = 25

// ntpsecRoot is where scripts/test-deps.sh unpacks Debian's ntpsec
// package (it conflicts with chrony, so it is not installed).
func ntpsecRoot() string {
	if r := os.Getenv("NTPO_NTPSEC_ROOT"); r != "" {
		return r
	}
	return "/var/cache/ntp-optimizer-ci/ntpsec"
}

// netLab is two network namespaces joined by a veth pair: the client side
// (10.123.0.1, where ntpd runs) and the server side (10.123.0.2-.3, the
// lab servers: serving chronyd -x). NTP traffic never leaves them.
type netLab struct {
	client, server string // namespace names
	dir            string
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func newNetLab(t *testing.T) *netLab {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "the ntpd lab needs root (network namespaces)")
	}
	id := fmt.Sprintf("%d-%d", os.Getpid(), rand.IntN(1<<20))
	l := &netLab{client: "ntpo-c-" + id, server: "ntpo-s-" + id, dir: t.TempDir()}
	if out, err := exec.Command("ip", "netns", "add", l.client).CombinedOutput(); err != nil {
		skipOrFail(t, "cannot create a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", l.client).Run() })
	ipCmd(t, "netns", "add", l.server)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", l.server).Run() })
	// The veth pair is created inside the client namespace, so the host's
	// own network is never touched.
	ipCmd(t, "-n", l.client, "link", "set", "lo", "up")
	ipCmd(t, "-n", l.server, "link", "set", "lo", "up")
	ipCmd(t, "-n", l.client, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", l.server)
	ipCmd(t, "-n", l.client, "addr", "add", "10.123.0.1/24", "dev", "v0")
	ipCmd(t, "-n", l.client, "link", "set", "v0", "up")
	ipCmd(t, "-n", l.server, "addr", "add", "10.123.0.2/24", "dev", "v1")
	ipCmd(t, "-n", l.server, "addr", "add", "10.123.0.3/24", "dev", "v1")
	ipCmd(t, "-n", l.server, "link", "set", "v1", "up")
	return l
}

// start runs a command inside namespace ns and stops it at cleanup.
func (l *netLab) start(t *testing.T, ns string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	// No Pdeathsig: it fires when the forking OS thread exits, and the
	// netns dialer ends threads on purpose. t.Cleanup stops the process.
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stopCmd(cmd) })
	return cmd
}

func stopCmd(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// labServer starts a serving chronyd -x (never touches the clock) bound to
// addr:123 in the server namespace.
func (l *netLab) labServer(t *testing.T, addr string) {
	t.Helper()
	chronyd, err := exec.LookPath("chronyd")
	if err != nil {
		chronyd = "/usr/sbin/chronyd"
		if _, err := os.Stat(chronyd); err != nil {
			skipOrFail(t, "chronyd is missing (apt-get install chrony): the lab servers need it")
		}
	}
	dir, err := os.MkdirTemp(l.dir, "chronyd-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o700))
	conf := filepath.Join(dir, "chrony.conf")
	writeFile(t, conf, fmt.Appendf(nil, "local stratum 2\nallow 10.123.0.0/24\nbindaddress %s\nport 123\ncmdport 0\n"+
		"bindcmdaddress %s/chronyd.sock\npidfile %s/chronyd.pid\ndriftfile %s/drift\n", addr, dir, dir, dir))
	l.start(t, l.server, chronyd, "-x", "-u", "root", "-n", "-f", conf, "-l", filepath.Join(dir, "chronyd.log"))
}

// dialer opens UDP sockets inside the client namespace (a thread enters
// it, dials, and exits locked, so no other goroutine runs in it).
func (l *netLab) dialer() Dialer {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
			var ns *os.File
			if ns, err = os.Open("/run/netns/" + l.client); err != nil {
				return
			}
			defer ns.Close()
			if err = unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				return
			}
			conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		}()
		<-done
		return conn, err
	}
}

// labNTPD runs Debian's ntpd on root's /etc/ntpsec/ntp.conf in the client
// namespace, without CAP_SYS_TIME and with "disable ntp" in the config,
// so it can never step or slew the clock. Restart is its service manager.
type labNTPD struct {
	t    *testing.T
	lab  *netLab
	root string
	mu   sync.Mutex
	cmd  *exec.Cmd
	runs int
}

func (n *labNTPD) Restart(ctx context.Context, unit string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		stopCmd(n.cmd)
	}
	n.runs++
	bin := filepath.Join(ntpsecRoot(), "usr/sbin/ntpd")
	n.cmd = n.lab.start(n.t, n.lab.client, "setpriv", "--bounding-set", "-sys_time", "--inh-caps", "-sys_time",
		bin, "-n", "-c", filepath.Join(n.root, "/etc/ntpsec/ntp.conf"),
		"-p", filepath.Join(n.lab.dir, "ntpd.pid"), "-l", filepath.Join(n.lab.dir, fmt.Sprintf("ntpd-%d.log", n.runs)))
	return nil
}

func (n *labNTPD) ActiveState(context.Context, string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.ProcessState != nil {
		return "inactive", nil
	}
	return "active", nil
}

// capEff reads the capability masks of the running ntpd (the child of ip
// netns exec and setpriv, which exec, so the same pid).
func (n *labNTPD) caps(t *testing.T) (eff, bnd uint64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return eff, bnd
}

// TestRealNTPD applies a fallback change to Debian's real ntpd (NTPsec
// 1.2.2) serving lab servers on a private network, checks it over mode 6,
// then makes a change whose servers never answer and checks the rollback.
func TestRealNTPD(t *testing.T) {
	bin := filepath.Join(ntpsecRoot(), "usr/sbin/ntpd")
	if _, err := os.Stat(bin); err != nil {
		skipOrFail(t, "Debian's ntpd is not unpacked at %s (scripts/test-deps.sh does it): %v", ntpsecRoot(), err)
	}
	lab := newNetLab(t)
	lab.labServer(t, "10.123.0.2")
	lab.labServer(t, "10.123.0.3")

	root := t.TempDir()
	conf := filepath.Join(root, "/etc/ntpsec/ntp.conf")
	orig := fmt.Appendf(nil, `# ntp.conf for the test: ntpd must not discipline the clock
driftfile %s/ntp.drift
disable ntp
disable kernel
tos minclock 1 minsane 1

# The server before the change: nobody answers there.
server 10.123.0.9 iburst

restrict default kod nomodify noquery limited
restrict 127.0.0.1
restrict ::1
`, lab.dir)
	writeFile(t, conf, orig)
	svc := &labNTPD{t: t, lab: lab, root: root}
	t.Cleanup(func() {
		if t.Failed() {
			for i := 1; i <= svc.runs; i++ {
				b, _ := os.ReadFile(filepath.Join(lab.dir, fmt.Sprintf("ntpd-%d.log", i)))
				t.Logf("ntpd log %d:\n%s", i, b)
			}
		}
	})
	require.NoError(t, svc.Restart(t.Context(), "ntpsec.service"))
	peers := Mode6{Dial: lab.dialer()}

	n, err := NewNTPD(NTPDConfig{
		Root: root, Services: svc, Peers: peers,
		VerifyTimeout: 20 * time.Second, VerifyInterval: 500 * time.Millisecond,
		Log: zerolog.New(zerolog.NewTestWriter(t)),
	})
	require.NoError(t, err)

	require.Eventually(t, func() bool { _, err := peers.Peers(t.Context()); return err == nil }, 10*time.Second, 200*time.Millisecond, "ntpd answers mode 6")

	// Without systemd, detection finds the running ntpd in /proc.
	if !systemd.Running("") {
		d, err := Detector{}.Detect(t.Context())
		require.NoError(t, err)
		require.Equal(t, DaemonNTPD, d.Daemon)
		require.Equal(t, ViaProc, d.Via)
	}

	// ntpd really lacks CAP_SYS_TIME.
	eff, bnd := svc.caps(t)
	require.Zero(t, eff&(1<<capSysTime), "ntpd must not hold CAP_SYS_TIME")
	require.Zero(t, bnd&(1<<capSysTime), "nor be able to regain it")

	c, err := n.Plan([]Server{{Name: "10.123.0.2", Origin: "lab"}, {Name: "10.123.0.3", Origin: "lab"}}, daemon.PolicyConverge)
	require.NoError(t, err)
	res, err := n.Apply(t.Context(), c)
	require.NoError(t, err)
	require.True(t, res.Verified)
	reach := map[string]bool{}
	for _, p := range res.Peers {
		if p.Reach != 0 {
			reach[p.Addr] = true
		}
	}
	require.NotEmpty(t, reach, "peers: %+v", res.Peers)
	for a := range reach {
		require.Contains(t, []string{"10.123.0.2", "10.123.0.3"}, a)
	}
	t.Logf("after apply: %+v", res.Peers)

	// A change to servers that never answer is rolled back.
	applied := readFile(t, conf)
	c, err = n.Plan([]Server{{Name: "10.123.0.8", Origin: "lab"}}, daemon.PolicyConverge)
	require.NoError(t, err)
	n.cfg.VerifyTimeout = 6 * time.Second
	res, err = n.Apply(t.Context(), c)
	require.ErrorIs(t, err, daemon.ErrRolledBack)
	require.True(t, res.RolledBack)
	require.Equal(t, applied, readFile(t, conf))
	require.Eventually(t, func() bool {
		p, err := peers.Peers(t.Context())
		if err != nil {
			return false
		}
		for _, x := range p {
			if x.Reach != 0 && x.Addr == "10.123.0.2" || x.Reach != 0 && x.Addr == "10.123.0.3" {
				return true
			}
		}
		return false
	}, 20*time.Second, 500*time.Millisecond, "after the rollback ntpd runs on the restored file and reaches the lab again")

	res, err = n.Revert(t.Context())
	require.ErrorIs(t, err, daemon.ErrRolledBack, "the original server never answers, so the revert itself fails verification")
	require.True(t, res.RolledBack)
	require.Equal(t, applied, readFile(t, conf))
}
