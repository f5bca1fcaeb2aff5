package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// asNobody runs the built binary as uid/gid 65534, which cannot reach the
// test daemon's socket directory (0700, root).
func asNobody(t *testing.T, args ...string) (string, string, error) {
	cmd := exec.Command(binary(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	return out.String(), stderr.String(), err
}

// TestNonRootFallsBackToUDP: without access to the Unix socket, the
// read-only commands use chronyd's UDP command port, say so, and leave
// empty the fields chronyd gives only over the socket.
func TestNonRootFallsBackToUDP(t *testing.T) {
	srv := chronytest.StartServer(t, chronytest.ServerOptions{})
	d := chronytest.Start(t, chronytest.Options{UDPCommandPort: true, Config: []string{srv.Line("iburst minpoll -2 maxpoll -2")}})
	c := d.Client(t)
	waitReach(t, c, chronyctl.AddrFromIP(srv.Addr))
	udp := []string{"--chrony-socket", d.Socket, "--chrony-address", d.CmdAddr.String()}
	chronycUDP := func(args ...string) string {
		out, err := exec.Command("chronyc", append([]string{"-h", d.CmdAddr.Addr().String(), "-p", fmt.Sprint(d.CmdAddr.Port())}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}

	out, stderr, err := asNobody(t, append([]string{"sources", "-n"}, udp...)...)
	require.NoError(t, err, stderr)
	require.Contains(t, stderr, "permission denied reaching chronyd's command socket "+d.Socket+": run as root")
	require.Contains(t, stderr, "note: using chronyd's UDP command port "+d.CmdAddr.String())
	require.NoError(t, compareSources(out, chronycUDP("-n", "sources")))

	out, stderr, err = asNobody(t, append([]string{"sources", "--json"}, udp...)...)
	require.NoError(t, err, stderr)
	require.Contains(t, stderr, "chronyd did not give ntpdata and selectdata over udp:"+d.CmdAddr.String()+"; those fields are empty")
	var srcs []chronyctl.Source
	jsonList(t, out, "sources", "sources", &srcs)
	require.Len(t, srcs, 1)
	require.Equal(t, chronyctl.Has{Stats: true, Name: true}, srcs[0].Has)
	require.Positive(t, srcs[0].Stats.Samples)

	out, stderr, err = asNobody(t, append([]string{"status", "-n"}, udp...)...)
	require.NoError(t, err, stderr)
	compareTracking(t, out, chronycUDP("-n", "tracking"))

	// Without the fallback address nothing works, and it says why.
	_, stderr, err = asNobody(t, "status", "--chrony-socket", d.Socket, "--chrony-address", "127.0.0.1:9")
	require.Error(t, err)
	require.True(t, strings.HasPrefix(stderr, "ntp-optimizer: permission denied reaching chronyd's command socket"), stderr)
}

func waitReach(t *testing.T, c *chronyctl.Client, a chronyctl.Addr) {
	t.Helper()
	for range 150 {
		srcs, err := c.SourcesParts(t.Context(), 0)
		require.NoError(t, err)
		for _, s := range srcs {
			if s.Address == a && s.Reach == 0o377 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the server was not reached 8 times within 15 s")
}
