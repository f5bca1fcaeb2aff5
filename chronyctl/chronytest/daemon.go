package chronytest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// startTimeout bounds the wait for a daemon's command socket.
const startTimeout = 10 * time.Second

// Options configure a daemon started by Start.
type Options struct {
	Version Version  // V43 (default) or V46
	Config  []string // extra chrony.conf lines, e.g. a Server's Line()
	// SourceDir adds "sourcedir DIR/sources.d" (Daemon.SourceDir) for
	// *.sources files and reload sources.
	SourceDir bool
	// UDPCommandPort opens chronyd's UDP command port on a random
	// 127.x.y.z and port (Daemon.CmdAddr) instead of "cmdport 0".
	UDPCommandPort bool
}

// Daemon is a running sandboxed chronyd.
type Daemon struct {
	Version   Version
	Dir       string         // its temporary directory (a host path)
	Socket    string         // its command socket
	SourceDir string         // its sourcedir, if Options.SourceDir
	CmdAddr   netip.AddrPort // its UDP command address, if Options.UDPCommandPort

	conf, logPath string
	cmd           *exec.Cmd
	exited        chan struct{}
}

// Start starts a client chronyd (no NTP server port) and registers its
// cleanup. It skips or fails the test per Need when chronyd is missing.
func Start(t testing.TB, o Options) *Daemon {
	t.Helper()
	return start(t, o.Version, o, []string{"port 0"})
}

func start(t testing.TB, v Version, o Options, base []string) *Daemon {
	t.Helper()
	if v == "" {
		v = V43
	}
	Need(t, v)
	d := &Daemon{Version: v, Dir: tempDir(t, v)}
	run := filepath.Join(d.Dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	d.Socket = filepath.Join(run, "chronyd.sock")
	d.logPath = filepath.Join(d.Dir, "chronyd.log")
	lines := append([]string{
		"bindcmdaddress " + d.Socket,
		"pidfile " + filepath.Join(run, "chronyd.pid"),
		"cmdport 0",
	}, base...)
	if o.UDPCommandPort {
		a := randomLoopback()
		d.CmdAddr = netip.AddrPortFrom(a, uint16(freePortOn(t, a)))
		lines = append(lines, "bindcmdaddress "+d.CmdAddr.Addr().String(),
			fmt.Sprintf("cmdport %d", d.CmdAddr.Port()), "cmdallow 127.0.0.0/8")
	}
	if o.SourceDir {
		d.SourceDir = filepath.Join(d.Dir, "sources.d")
		if err := os.Mkdir(d.SourceDir, 0o755); err != nil {
			t.Fatalf("chronytest: %v", err)
		}
		lines = append(lines, "sourcedir "+d.SourceDir)
	}
	lines = append(lines, o.Config...)
	d.conf = filepath.Join(d.Dir, "chrony.conf")
	if err := os.WriteFile(d.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	t.Cleanup(d.Kill)
	if err := d.launch(); err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	return d
}

// launch runs chronyd in the foreground and waits for its command socket.
func (d *Daemon) launch() error {
	_ = os.Remove(d.Socket) // left by a killed daemon, it would look ready
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	argv := append(command(d.Version, "chronyd"), "-x", "-u", "root", "-d", "-f", d.conf)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("starting chronyd %s: %w", d.Version, err)
	}
	d.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(d.cmd, d.exited)
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(d.Socket); err == nil && fi.Mode().Type() == os.ModeSocket {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("chronyd %s exited at start:\n%s", d.Version, d.Log())
		case <-time.After(10 * time.Millisecond):
		}
	}
	d.Kill()
	return fmt.Errorf("chronyd %s made no command socket within %s:\n%s", d.Version, startTimeout, d.Log())
}

// Kill stops the daemon (SIGTERM, then SIGKILL after 5 s) and waits for
// it. It is safe to call more than once.
func (d *Daemon) Kill() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// Restart stops the daemon and starts it again with the same
// configuration (sources added at runtime are gone afterwards, as with a
// real restart).
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	d.Kill()
	if err := d.launch(); err != nil {
		t.Fatalf("chronytest: restart: %v", err)
	}
}

// Conf is the path of the daemon's chrony.conf (a host path).
func (d *Daemon) Conf() string { return d.conf }

// Log returns what the daemon logged so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

// Client dials the daemon's command socket; the client is closed by
// t.Cleanup.
func (d *Daemon) Client(t testing.TB) *chronyctl.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := chronyctl.Dial(ctx, chronyctl.Config{Socket: d.Socket})
	if err != nil {
		t.Fatalf("chronytest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Chronyc runs chronyc of the daemon's release against its socket
// ("chronyc -h SOCKET args...") and returns its output. A failure to run
// or a non-zero exit fails the test; chronyc's error replies ("511 Source
// already present") are in the output with exit status 1, so use
// ChronycErr for those.
func (d *Daemon) Chronyc(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.ChronycErr(args...)
	if err != nil {
		t.Fatalf("chronytest: chronyc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// ChronycErr is Chronyc returning the error instead of failing the test.
func (d *Daemon) ChronycErr(args ...string) (string, error) {
	argv := append(command(d.Version, "chronyc"), append([]string{"-h", d.Socket}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = fmt.Errorf("chronyc exited with %d", ee.ExitCode())
	}
	return out.String(), err
}
