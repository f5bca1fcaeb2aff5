package chronyctl_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// deadPID returns the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	pid := cmd.Process.Pid
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Skipf("PID %d of an exited process is in use again (%v)", pid, err)
	}
	return pid
}

// leftSocket leaves a client socket file as a killed process does: bound,
// then closed without removing the file.
func leftSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	require.NoError(t, err)
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}))
	require.NoError(t, syscall.Close(fd))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestDialRemovesStaleClientSockets (issue 12, item 10): client sockets of
// killed runs (ntp-optimizer.<pid>.<random>.sock) piled up in chronyd's
// socket directory. Dial removes those of PIDs that do not exist, and
// nothing else: not other names, not a live PID's, not one that is not a
// socket, not one something still has bound (a PID of another PID
// namespace).
func TestDialRemovesStaleClientSockets(t *testing.T) {
	dir := t.TempDir()
	server := filepath.Join(dir, "chronyd.sock")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: server, Net: "unixgram"})
	require.NoError(t, err)
	defer srv.Close()

	dead := deadPID(t)
	sleeper := exec.Command("sleep", "60")
	require.NoError(t, sleeper.Start())
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	live := sleeper.Process.Pid

	random := "abcdefghijklmn23"
	name := func(pid int) string { return fmt.Sprintf("ntp-optimizer.%d.%s.sock", pid, random) }
	stale := []string{name(dead), fmt.Sprintf("ntp-optimizer.%d.%s.sock", dead, "zzzzzzzzzzzzzz77")}
	for _, n := range stale {
		leftSocket(t, filepath.Join(dir, n))
	}
	keep := map[string]string{
		name(live):                                 "a live process's socket",
		name(os.Getpid()):                          "this process's own socket",
		fmt.Sprintf("chronyc.%d.sock", dead):       "another program's socket",
		fmt.Sprintf("ntp-optimizer.%d.sock", dead): "not our pattern (no random part)",
		fmt.Sprintf("ntp-optimizer.%d.ABCDEFGHIJKLMN23.sock", dead): "not our pattern (upper case)",
		fmt.Sprintf("ntp-optimizer.%d.%s.sock.old", dead, random):   "not our pattern (suffix)",
		fmt.Sprintf("xntp-optimizer.%d.%s.sock", dead, random):      "not our pattern (prefix)",
		fmt.Sprintf("ntp-optimizer.0%d.%s.sock", dead, random):      "not our pattern (leading zero)",
	}
	for n := range keep {
		leftSocket(t, filepath.Join(dir, n))
	}
	plain := fmt.Sprintf("ntp-optimizer.%d.%s.sock", dead, "plainfileplain22")
	require.NoError(t, os.WriteFile(filepath.Join(dir, plain), nil, 0o600))
	keep[plain] = "a regular file"
	link := fmt.Sprintf("ntp-optimizer.%d.%s.sock", dead, "symlinksymlink22")
	require.NoError(t, os.Symlink(filepath.Join(dir, name(dead)), filepath.Join(dir, link)))
	keep[link] = "a symlink"
	bound := fmt.Sprintf("ntp-optimizer.%d.%s.sock", dead, "stillboundbound2")
	held, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, bound), Net: "unixgram"})
	require.NoError(t, err)
	defer held.Close()
	keep[bound] = "a socket something still has bound"

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := chronyctl.Dial(ctx, chronyctl.Config{Socket: server})
	require.NoError(t, err)
	for _, n := range stale {
		require.False(t, exists(filepath.Join(dir, n)), "stale %s left", n)
	}
	for n, why := range keep {
		require.True(t, exists(filepath.Join(dir, n)), "%s (%s) removed", n, why)
	}
	require.True(t, exists(server), "chronyd's own socket")
	require.NoError(t, c.Close())
}

// TestStaleSocketHelper is the process TestKilledClientSocketIsCleaned
// kills: it dials chronyd, says so, and waits.
func TestStaleSocketHelper(t *testing.T) {
	sock := os.Getenv("CHRONYCTL_STALE_HELPER_SOCKET")
	if sock == "" {
		t.Skip("helper process only")
	}
	c, err := chronyctl.Dial(context.Background(), chronyctl.Config{Socket: sock})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	_, err = c.Sources(context.Background())
	fmt.Println("ready", err)
	time.Sleep(time.Minute)
}

// TestKilledClientSocketIsCleaned: against a real chronyd, a client killed
// with SIGKILL leaves its socket in chronyd's socket directory; the next
// Dial removes it and talks to chronyd as before.
func TestKilledClientSocketIsCleaned(t *testing.T) {
	d := chronytest.Start(t, chronytest.Options{Version: chronytest.V43})
	dir := filepath.Dir(d.Socket)
	ours := func() []string {
		m, err := filepath.Glob(filepath.Join(dir, "ntp-optimizer.*.sock"))
		require.NoError(t, err)
		return m
	}
	require.Empty(t, ours())

	helper := exec.Command(os.Args[0], "-test.run=^TestStaleSocketHelper$", "-test.count=1")
	helper.Env = append(os.Environ(), "CHRONYCTL_STALE_HELPER_SOCKET="+d.Socket)
	out, err := helper.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, helper.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready <nil>\n", line)
	left := ours()
	require.Len(t, left, 1)
	require.Contains(t, filepath.Base(left[0]), fmt.Sprintf("ntp-optimizer.%d.", helper.Process.Pid))
	require.NoError(t, helper.Process.Kill())
	_ = helper.Wait()
	require.Equal(t, left, ours(), "SIGKILL leaves the client socket behind")

	c := d.Client(t)
	srcs, err := c.Sources(context.Background())
	require.NoError(t, err)
	require.Empty(t, srcs)
	now := ours()
	require.Len(t, now, 1, "only the new client's socket: %v", now)
	require.True(t, strings.Contains(now[0], fmt.Sprintf(".%d.", os.Getpid())), now[0])
}
