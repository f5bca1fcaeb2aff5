package systemdtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
)

// busConfig is a session-style bus that lets its clients own any name and
// call anything: a sandbox for fakes, never the system bus.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>ntp-optimizer-test</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

// StartBus starts a private dbus-daemon listening on a socket in a temp
// dir and returns its address ("unix:path=..."); t.Cleanup stops it.
func StartBus(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dbus-daemon is missing (apt-get install dbus-daemon)")
		}
		t.Skip("dbus-daemon is missing (apt-get install dbus-daemon): skipping the D-Bus tests")
	}
	dir, err := os.MkdirTemp("", "ntpo-bus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr // "failed to set fd limit" noise in containers; shown on failure
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addrCh := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addrCh <- strings.TrimSpace(line)
	}()
	select {
	case addr := <-addrCh:
		if addr == "" {
			t.Fatalf("dbus-daemon printed no address: %s", stderr.String())
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatalf("dbus-daemon did not start within 10 s: %s", stderr.String())
	}
	return ""
}

// Connect opens an authenticated connection to the bus at address, for a
// fake service; it is closed at the end of the test.
func Connect(t testing.TB, address string) *dbus.Conn {
	t.Helper()
	c, err := systemd.Dial(t.Context(), address)
	if err != nil {
		t.Fatalf("connecting to the test bus %s: %v", address, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Own requests a well-known name for a fake's connection.
func Own(t testing.TB, conn *dbus.Conn, name string) {
	t.Helper()
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: reply %v, %v", name, reply, err)
	}
}
