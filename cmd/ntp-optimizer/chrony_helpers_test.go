package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
)

// appMu serialises in-process runs: urfave/cli's shared HelpFlag and
// VersionFlag are written by every run, so the chronyd tests, which run
// in parallel per release, would race.
var appMu sync.Mutex

// runSerial is runApp (probe_test.go) under appMu.
func runSerial(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	appMu.Lock()
	defer appMu.Unlock()
	return runApp(t, args...)
}

// labDaemon starts a server and a client chronyd whose sources cover the
// table's cases: a synchronised server, 127.0.0.1 (reverse DNS
// "localhost"), an unresolved name, an unreachable peer and a refclock. It
// waits until the server's reach register is full.
func labDaemon(t *testing.T, v chronytest.Version) (*chronytest.Daemon, *chronytest.Server) {
	t.Helper()
	srv := chronytest.StartServer(t, chronytest.ServerOptions{Version: v})
	d := chronytest.Start(t, chronytest.Options{Version: v, Config: []string{
		srv.Line("iburst minpoll -2 maxpoll -2"),
		"server 127.0.0.1 port 9 minpoll 10",
		"server nonexistent.invalid minpoll 10",
		"peer 127.77.0.9 port 9 minpoll 10",
		"refclock SOCK " + filepath.Join(srv.Dir, "refclock.sock") + " refid GPS noselect",
	}})
	c := d.Client(t)
	a := chronyctl.AddrFromIP(srv.Addr)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		srcs, err := c.Sources(context.Background())
		require.NoError(t, err)
		for _, s := range srcs {
			if s.Address == a && s.Reach == 0o377 && s.State == chronyctl.StateSelected {
				return d, srv
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the server was not reached 8 times within 15 s:\n%s", d.Chronyc(t, "sources"))
	return nil, nil
}

// Patterns of chronyc's number helpers (client.c).
const (
	reInterval = `(?:[ 0-9]{4}|[ 0-9]{3}[mhdy]|   -)`
	reSigned   = `(?:[ +\-0-9]{5}(?:ns|us|ms)|[ +\-0-9.]{6}[smhdy])`
	reUnsigned = `(?:[ 0-9]{4}(?:ns|us|ms)|[ 0-9.]{5}[smhdy])`
)

// sourcesTail is the part of a sources row that moves between two calls:
// LastRx and the last sample.
var sourcesTail = regexp.MustCompile(`  ` + reInterval + `  ` + reSigned + `\[` + reSigned + `\] \+/- ` + reUnsigned + `$`)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// buildFlags are `make build`'s, plus the urfave_cli_no_docs tag this
// package's report recommends for it (it drops the man-page generator,
// 0.3 ms of every start).
var buildFlags = []string{"-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w"}

// binary builds ntp-optimizer once, as `make build` does, in a directory
// anyone may read (the non-root tests run it as nobody).
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ntpo-bin")
		if err != nil {
			buildErr = err
			return
		}
		if err = os.Chmod(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "ntp-optimizer")
		cmd := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", buildPath, ".")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			buildPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building ntp-optimizer: %v\n%s", buildErr, buildPath)
	}
	return buildPath
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// chronycFlags splits our flags as chronyc wants them: -n and -N are
// chronyc's global options, the others the command's.
func chronycFlags(flags []string) (global, local []string) {
	for _, f := range flags {
		if f == "-n" || f == "-N" {
			global = append(global, f)
		} else {
			local = append(local, f)
		}
	}
	return global, local
}
