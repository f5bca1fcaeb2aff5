package chronytest

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Lab starts `servers` NTP servers and a client daemon with them as
// sources (polling every 0.25 s) plus `silent` sources on random loopback
// addresses where nothing answers, and waits up to 15 s until every
// server's reach register is full. Benchmarks use it for a daemon with
// many sources.
func Lab(t testing.TB, v Version, servers, silent int) (*Daemon, []*Server) {
	t.Helper()
	var srvs []*Server
	var lines []string
	for range servers {
		s := StartServer(t, ServerOptions{Version: v})
		srvs = append(srvs, s)
		lines = append(lines, s.Line("iburst minpoll -2 maxpoll -2"))
	}
	for range silent {
		lines = append(lines, fmt.Sprintf("server %s port 9 minpoll 10", randomLoopback()))
	}
	d := Start(t, Options{Version: v, Config: lines})
	c := d.Client(t)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		srcs, err := c.SourcesParts(context.Background(), 0)
		if err != nil {
			t.Fatalf("chronytest: %v", err)
		}
		full := 0
		for _, s := range srcs {
			if s.Reach == 0o377 {
				full++
			}
		}
		if full == servers {
			return d, srvs
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("chronytest: the %d servers were not all reached within 15 s:\n%s", servers, d.Chronyc(t, "-n", "sources"))
	return nil, nil
}
