package nspawntest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds on the container's life, so a hung boot or shutdown fails the
// test instead of the whole run.
const (
	// BootTimeout bounds waiting for PID 1 and for the system to be up
	// (a boot takes about two seconds).
	BootTimeout = 60 * time.Second
	// ExecTimeout bounds one command run with Exec.
	ExecTimeout = 2 * time.Minute
	// stopTimeout bounds a clean shutdown after SIGTERM; then SIGKILL.
	stopTimeout = 20 * time.Second
)

// Options change a container before it boots.
type Options struct {
	// Files are written into the container's root before the boot:
	// absolute path inside -> contents (mode 0644, parents created).
	Files map[string]string
	// PrivateNetwork gives the container a network namespace of its own
	// with only a loopback device (--private-network) instead of the
	// host's. Servers for it are started inside with InNetNS; addresses
	// are added with AddAddress (on LabLink). Daemons that refuse loopback
	// servers other than 127.0.0.1 (ntpd) or need port 123 (ntpd,
	// timesyncd) use it, so they never bind a port of the host.
	PrivateNetwork bool
}

// Container is a booted systemd-nspawn container, seen from one test:
// its methods that fail, fail that test. For a subtest, use For(t).
type Container struct {
	*machine
	t testing.TB
}

// machine is the container itself, shared by every Container view of it.
type machine struct {
	// Name is the machine name (its hostname inside).
	Name string
	// Dir is the container's root as the host sees it (an overlayfs over
	// the cached root): files written there are seen inside at once.
	Dir string

	cmd     *exec.Cmd
	pid     int // PID 1 of the container, in the host's PID namespace
	logPath string
	exited  chan struct{}
	stop    sync.Once

	linkOnce sync.Once // LabLink made
	linkErr  error
}

// Boot starts systemd in a container on a writable overlay of root
// (built by Ensure if needed) and waits until it is up (WaitRunning). The
// container is stopped and its overlay removed when the test ends; a
// failed test logs the container's journal first.
func Boot(t testing.TB, r Root, opt Options) *Container {
	t.Helper()
	lower := Ensure(t, r)
	nspawn := need(t, "systemd-nspawn", "systemd-container")
	mountNspawnRun(t)

	tmp := t.TempDir()
	c := &Container{t: t, machine: &machine{
		Name:    fmt.Sprintf("ntpo-%s-%06x", r.Name, rand.IntN(1<<24)),
		Dir:     filepath.Join(tmp, "root"),
		logPath: filepath.Join(tmp, "nspawn.log"),
		exited:  make(chan struct{}),
	}}
	mountOverlay(t, lower, tmp, c.Dir)
	for p, data := range opt.Files {
		c.WriteFile(p, data, 0o644)
	}

	logf, err := os.Create(c.logPath)
	if err != nil {
		t.Fatalf("nspawntest: %v", err)
	}
	// --register=no --keep-unit: no machined and no host systemd here;
	// --link-journal=no keeps the journal inside the overlay.
	args := []string{"-D", c.Dir, "--register=no", "--keep-unit", "--link-journal=no",
		"--machine=" + c.Name, "--console=read-only", "-b"}
	if opt.PrivateNetwork {
		args = append(args, "--private-network")
	}
	c.cmd = exec.Command(nspawn, args...)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// A test binary killed by its timeout takes the container with it:
	// SIGTERM halts it cleanly (SIGKILL would leave its systemd running,
	// orphaned in its PID namespace).
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("nspawntest: starting systemd-nspawn: %v", err)
	}
	go func() {
		_ = c.cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	t.Cleanup(c.Stop)

	start := time.Now()
	c.pid = c.findInit(t)
	c.WaitRunning(BootTimeout)
	t.Logf("nspawntest: %s booted in %s", c.Name, time.Since(start).Round(10*time.Millisecond))
	return c
}

// findInit waits for systemd-nspawn's child to be systemd (the
// container's PID 1) and returns its PID in the host's namespace.
func (c *Container) findInit(t testing.TB) int {
	t.Helper()
	parent := c.cmd.Process.Pid
	deadline := time.Now().Add(BootTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			t.Fatalf("nspawntest: systemd-nspawn exited during the boot:\n%s", c.Log())
		default:
		}
		for _, pid := range children(parent) {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "systemd" {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nspawntest: no systemd under systemd-nspawn (PID %d) after %s:\n%s", parent, BootTimeout, c.Log())
	return 0
}

// children lists the PIDs whose parent is ppid.
func children(ppid int) []int {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", ppid, ppid)); err == nil {
		var out []int
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
		return out
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(ppid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// For is the container seen from t (a subtest): its failures fail t, as
// the testing package wants (FailNow only from the test's own goroutine).
func (c *Container) For(t testing.TB) *Container { return &Container{machine: c.machine, t: t} }

// PID is the container's PID 1 as the host sees it.
func (c *Container) PID() int { return c.pid }

// Path is the host path of path inside the container.
func (c *Container) Path(path string) string { return filepath.Join(c.Dir, path) }

// WriteFile writes a file into the container (parents created).
func (c *Container) WriteFile(path, data string, mode os.FileMode) {
	c.t.Helper()
	p := c.Path(path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatalf("nspawntest: %v", err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		c.t.Fatalf("nspawntest: %v", err)
	}
	if err := os.Chmod(p, mode); err != nil {
		c.t.Fatalf("nspawntest: %v", err)
	}
}

// ReadFile reads a file of the container ("" and an error if it cannot).
func (c *Container) ReadFile(path string) (string, error) {
	b, err := os.ReadFile(c.Path(path))
	return string(b), err
}

// env is the environment of commands run inside: nothing of the test's.
var env = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
	"SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", "DEBIAN_FRONTEND=noninteractive",
}

// Exec runs a command inside the container (nsenter into all of PID 1's
// namespaces, its root and working directory) with ExecTimeout, and
// returns its combined output.
func (c *Container) Exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	return c.ExecContext(ctx, args...)
}

// ExecContext is Exec bounded by ctx.
func (c *Container) ExecContext(ctx context.Context, args ...string) (string, error) {
	nsargs := append([]string{"-t", strconv.Itoa(c.pid), "-a", "-r", "-w"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", nsargs...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return out.String(), err
}

// nsenterNet runs a host command (the host's ip) in the container's
// network namespace only.
func (c *Container) nsenterNet(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.pid), "-n"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Run is Exec that fails the test when the command fails.
func (c *Container) Run(args ...string) string {
	c.t.Helper()
	out, err := c.Exec(args...)
	if err != nil {
		c.t.Fatalf("in %s: %s: %v\n%s", c.Name, strings.Join(args, " "), err, out)
	}
	return out
}

// ExitCode runs a command inside and returns its output and exit status
// (-1 when it could not run or was killed).
func (c *Container) ExitCode(args ...string) (string, int) {
	out, err := c.Exec(args...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return out, ee.ExitCode()
	}
	return out + err.Error(), -1
}

// Log is what systemd-nspawn printed (the console, read-only).
func (c *Container) Log() string {
	b, _ := os.ReadFile(c.logPath)
	return tail(string(b), 40)
}

// Stop shuts the container down: SIGTERM to systemd-nspawn (a clean
// halt), SIGKILL after stopTimeout. A failed test first logs the journal's
// warnings and the console. It is safe to call more than once.
func (c *Container) Stop() {
	c.stop.Do(func() {
		if c.t.Failed() && c.pid != 0 {
			if j, err := c.Exec("journalctl", "--no-pager", "-q", "-b", "-p", "warning", "-n", "80"); err == nil {
				c.t.Logf("journal of %s (warning and above):\n%s", c.Name, j)
			}
			c.t.Logf("console of %s:\n%s", c.Name, c.Log())
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
			return
		case <-time.After(stopTimeout):
		}
		c.t.Logf("nspawntest: %s did not halt within %s: killing it", c.Name, stopTimeout)
		_ = c.cmd.Process.Kill()
		if c.pid != 0 {
			_ = syscall.Kill(c.pid, syscall.SIGKILL)
		}
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			c.t.Errorf("nspawntest: systemd-nspawn (PID %d) survived SIGKILL", c.cmd.Process.Pid)
		}
	})
}

var runOnce sync.Once

// mountNspawnRun puts a tmpfs on /run/systemd/nspawn when nothing is
// mounted there: without it systemd-nspawn refuses to start ("Attempted to
// remove disk file system under /run/systemd/nspawn/propagate"). It stays
// for later runs.
func mountNspawnRun(t testing.TB) {
	t.Helper()
	var err error
	runOnce.Do(func() {
		const dir = "/run/systemd/nspawn"
		if err = os.MkdirAll(dir, 0o755); err != nil {
			return
		}
		if isMountpoint(dir) {
			return
		}
		err = unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755")
	})
	if err != nil {
		t.Fatalf("nspawntest: tmpfs on /run/systemd/nspawn: %v", err)
	}
}

// isMountpoint reports whether dir is a mount point (its own line in
// /proc/self/mountinfo).
func isMountpoint(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// mountOverlay makes merged a writable overlay of lower, its changes kept
// under tmp, and unmounts it when the test ends (after the container
// stopped: cleanups run last-registered first). Where overlayfs cannot be
// mounted, the root is copied instead (cp --reflink=auto -a).
func mountOverlay(t testing.TB, lower, tmp, merged string) {
	t.Helper()
	upper, work := filepath.Join(tmp, "upper"), filepath.Join(tmp, "work")
	for _, d := range []string{upper, work, merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("nspawntest: %v", err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err == nil {
		t.Cleanup(func() {
			if err := unix.Unmount(merged, 0); err != nil {
				_ = unix.Unmount(merged, unix.MNT_DETACH)
			}
		})
		return
	} else {
		t.Logf("nspawntest: overlayfs: %v: copying the root instead", err)
	}
	if err := os.Remove(merged); err != nil {
		t.Fatalf("nspawntest: %v", err)
	}
	if out, err := exec.Command("cp", "--reflink=auto", "-a", lower, merged).CombinedOutput(); err != nil {
		t.Fatalf("nspawntest: copying %s: %v\n%s", lower, err, out)
	}
}
