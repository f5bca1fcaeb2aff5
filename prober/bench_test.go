package prober_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// BenchmarkProbe measures 200 lab addresses (testdata/lab/bench.toml: 150
// good, 20 jittery, 20 lossy, 10 silent) × 4 samples at the production
// spacing of 2 s, twice per iteration:
//
//   - in this process, through prober.Probe: wall time as a ratio to the
//     floor ((samples-1) × spacing + the slowest reply), and the most
//     queries (sockets) open at once;
//   - as the real command, `ntp-optimizer probe --json` in a child process,
//     so its CPU time and peak RSS (from the child's rusage) do not include
//     the lab, which runs in this process.
//
// sequential-x is how many times longer the seed's one-server-at-a-time
// approach would take at the same politeness (200 × the per-address floor).
func BenchmarkProbe(b *testing.B) {
	sc, err := ntplab.Load(filepath.Join("..", "testdata", "lab", "bench.toml"))
	if err != nil {
		b.Fatal(err)
	}
	lab := labtest.Start(b, sc)
	bin := buildCLI(b)
	var targets []prober.Target
	args := []string{"--log-level", "error", "probe", "--json", "--port", fmt.Sprint(lab.Servers()[0].Addr().Port())}
	for _, s := range lab.Servers() {
		targets = append(targets, prober.Target{Name: s.Addr().Addr().String(), Port: int(s.Addr().Port())})
		args = append(args, s.Addr().Addr().String())
	}
	cfg := prober.DefaultConfig()
	floorBase := time.Duration(cfg.Samples-1) * cfg.Spacing
	b.ResetTimer()
	for range b.N {
		// In process.
		p := prober.New(cfg, zerolog.Nop())
		var last prober.Progress
		p.Progress = func(pr prober.Progress) { last = pr }
		start := time.Now()
		res, err := p.Probe(context.Background(), targets, prober.RunOptions{})
		wall := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		var slowest time.Duration
		for _, r := range res {
			for _, s := range r.Samples {
				if s.OK {
					slowest = max(slowest, s.Delay)
				}
			}
		}
		floor := floorBase + slowest
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "ratio-to-floor")
		b.ReportMetric(float64(last.PeakInFlight), "peak-sockets")
		b.ReportMetric(float64(len(res))*floor.Seconds()/wall.Seconds(), "sequential-x")

		// The command, in a child process.
		cmd := exec.Command(bin, args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start = time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s: %v\n%s", bin, err, errOut.String())
		}
		cliWall := time.Since(start)
		var doc struct {
			Rows []prober.JSONResult `json:"candidates"` // probe --json: {"schema_version": 1, "candidates": […]}
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			b.Fatal(err)
		}
		rows := doc.Rows
		slowest = 0
		for _, r := range rows {
			for _, s := range r.Samples {
				if s.Delay != nil {
					slowest = max(slowest, time.Duration(*s.Delay*float64(time.Second)))
				}
			}
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		b.ReportMetric(cliWall.Seconds()/(floorBase+slowest).Seconds(), "cli-ratio-to-floor")
		b.ReportMetric(cpu.Seconds(), "cli-cpu-s")
		b.ReportMetric(float64(ru.Maxrss)/1024, "cli-peak-rss-MB")
		b.Logf("in process: %d addresses in %v (floor %v); command: %v, CPU %v, peak RSS %d KiB, %d rows",
			len(res), wall.Round(time.Millisecond), floor.Round(time.Millisecond), cliWall.Round(time.Millisecond), cpu, ru.Maxrss, len(rows))
	}
}

// buildCLI builds cmd/ntp-optimizer into a temp directory.
func buildCLI(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "ntp-optimizer")
	gobin := "go"
	cmd := exec.Command(gobin, "build", "-o", bin, "../cmd/ntp-optimizer")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building ntp-optimizer: %v\n%s", err, out)
	}
	return bin
}
