package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// BenchmarkApply is one full `apply` against a real chronyd (4.3) with the
// production schedule (4 samples, 2 s apart, iburst): 20 candidate names of
// 3 lab addresses each (testdata/lab/apply-bench.toml), chronyd starting on
// two poor servers. The lab runs in a child process (bin ntplab), so the
// CPU time and peak RSS reported are the agent's own.
//
// The floor is what no implementation can beat: the probe's
// (samples-1) × spacing plus the slowest reply, plus the time chronyd needs
// before a newly added source is selectable (measured in the same run with
// a spare lab server: with iburst, about three samples 2 s apart). No old
// source may be deleted before its replacement is selectable (the safety
// invariant), so that wait is part of every changing run. ratio-to-floor =
// wall / floor (target ≤ 1.3); answer-s is the time to chronyd's first
// answer alone, the floor before new sources had to be selectable. The
// seed's sequential approach takes 3-6 minutes for 20 servers.
func BenchmarkApply(b *testing.B) {
	chronytest.Need(b, chronytest.V43)
	lab := startLabProcess(b, filepath.Join("..", "testdata", "lab", "apply-bench.toml"))
	names, resolver := nameLab(lab, 20)
	for range b.N {
		d := chronytest.Start(b, chronytest.Options{SourceDir: true, Config: []string{
			fmt.Sprintf("server %s port %d iburst", lab.byName["poor-1"].Addr(), lab.byName["poor-1"].Port()),
			fmt.Sprintf("server %s port %d iburst", lab.byName["poor-2"].Addr(), lab.byName["poor-2"].Port()),
		}})
		cl := d.Client(b)
		answer, selectable := untilSelectable(b, cl, lab.spare)

		p := prober.New(prober.DefaultConfig(), zerolog.Nop())
		p.Resolver = resolver
		p.Port = int(lab.spare.Port())
		dc := discovery.DefaultConfig()
		dc.NoDiscovery, dc.Servers = true, names
		a := &agent.Agent{
			Settings: agent.Settings{Discovery: dc, Scoring: scoring.DefaultConfig(), Policy: daemon.PolicyConverge,
				Measure: agent.MeasureProbe}, // the probe path's figures (cmd/ntp-optimizer's bench has both)
			Backend: &chronylive.Backend{Client: cl, Config: chronylive.Config{SourceOptions: "iburst"},
				File: &chronylive.SourcesFile{Path: filepath.Join(d.SourceDir, chronylive.SourcesFileName)}},
			Discoverer: &discovery.Discoverer{Log: zerolog.Nop()},
			Prober:     p,
			Store:      &agent.Store{Dir: b.TempDir()},
			Log:        zerolog.Nop(),
		}
		cpu0 := cpuTime()
		start := time.Now()
		rep, err := a.Run(context.Background(), agent.Options{})
		wall := time.Since(start)
		cpu := cpuTime() - cpu0
		if err != nil {
			b.Fatalf("apply: %v", err)
		}
		var slowest time.Duration
		probed := 0
		for _, c := range rep.Candidates {
			if c.Origin == scoring.OriginProbe && c.Address.IsValid() {
				probed++
			}
			for _, s := range c.Samples {
				if s.OK && s.Delay != nil {
					slowest = max(slowest, time.Duration(*s.Delay*float64(time.Second)))
				}
			}
		}
		cfg := prober.DefaultConfig()
		floor := time.Duration(cfg.Samples-1)*cfg.Spacing + slowest + selectable
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "ratio-to-floor")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(answer.Seconds(), "answer-s")
		b.ReportMetric(selectable.Seconds(), "selectable-s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(cpu.Seconds()/0.5, "cpu-ratio-to-0.5s")
		b.ReportMetric(peakRSSMB(), "peak-rss-MB")
		b.ReportMetric(peakRSSMB()/50, "rss-ratio-to-50MB")
		b.Logf("apply: %s, %d added %d removed, %d addresses probed from %d names; wall %v, floor %v (first answer %v, selectable %v), cpu %v",
			rep.Outcome, len(rep.Added), len(rep.Removed), probed, len(names), wall.Round(time.Millisecond),
			floor.Round(time.Millisecond), answer.Round(time.Millisecond), selectable.Round(time.Millisecond),
			cpu.Round(time.Millisecond))
		d.Kill()
	}
}

// labProcess is an ntplab child process and its servers by name.
type labProcess struct {
	byName map[string]netip.AddrPort
	order  []string
	spare  netip.AddrPort
}

// startLabProcess builds cmd/ntplab and runs the scenario on a random
// spread base (each server its own /24), plus one spare good server for
// the first-answer measurement.
func startLabProcess(b *testing.B, scenario string) *labProcess {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "ntplab")
	gobin := "go"
	if out, err := exec.Command(gobin, "build", "-o", bin, "../cmd/ntplab").CombinedOutput(); err != nil {
		b.Fatalf("building ntplab: %v\n%s", err, out)
	}
	data, err := os.ReadFile(scenario)
	if err != nil {
		b.Fatal(err)
	}
	sc := filepath.Join(dir, "scenario.toml")
	spare := "\n[[server]]\nname = \"spare\"\ntruth = \"good\"\nstratum = 2\nrefid = \"192.0.2.8\"\ndelay = \"3ms\"\n"
	if err := os.WriteFile(sc, append(data, spare...), 0o644); err != nil {
		b.Fatal(err)
	}
	addrs := filepath.Join(dir, "addrs")
	base := fmt.Sprintf("127.%d.0.1", 100+os.Getpid()%100)
	port := fmt.Sprint(20000 + os.Getpid()%30000)
	cmd := exec.Command(bin, "run", "--spread", "--base", base, "--port", port, "--addresses-file", addrs, sc)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	lp := &labProcess{byName: map[string]netip.AddrPort{}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		text, _ := os.ReadFile(addrs)
		if len(text) > 0 && strings.HasSuffix(string(text), "\n") {
			for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
				var a, name string
				var p uint16
				if _, err := fmt.Sscan(line, &a, &p, &name); err != nil {
					b.Fatalf("addresses file: %q: %v", line, err)
				}
				ap := netip.AddrPortFrom(netip.MustParseAddr(a), p)
				lp.byName[name] = ap
				if name == "spare" {
					lp.spare = ap
				} else {
					lp.order = append(lp.order, name)
				}
			}
			return lp
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("the lab did not start")
	return nil
}

// nameLab gives the lab's servers n names of len/n addresses each, under
// pool.ntp.org so that diversity treats them as independent operators.
func nameLab(lab *labProcess, n int) ([]string, ntplab.Resolver) {
	per := len(lab.order) / n
	r := ntplab.Resolver{}
	var names []string
	for i := range n {
		name := fmt.Sprintf("%d.bench%02d.pool.ntp.org", i%4, i)
		names = append(names, name)
		for _, s := range lab.order[i*per : (i+1)*per] {
			r[name] = append(r[name], lab.byName[s].Addr())
		}
	}
	return names, r
}

// firstAnswer adds spare to chronyd with iburst and returns how long
// chronyd took to hear from it, then removes it again.
// untilSelectable adds the spare server to chronyd with iburst and returns
// how long until chronyd first heard from it and until it was selectable
// ('*', '+' or '-'), then deletes it.
func untilSelectable(b *testing.B, cl *chronyctl.Client, spare netip.AddrPort) (answer, selectable time.Duration) {
	b.Helper()
	ctx := context.Background()
	r := chronyctl.NewAddSource(chronyctl.TypeServer, spare.Addr().String())
	r.Port = uint32(spare.Port())
	r.Flags |= chronyctl.FlagIBurst
	start := time.Now()
	if err := cl.AddSource(ctx, r); err != nil {
		b.Fatal(err)
	}
	defer cl.DeleteSource(ctx, chronyctl.AddrFromIP(spare.Addr()))
	for time.Since(start) < 30*time.Second {
		srcs, err := cl.SourcesParts(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range srcs {
			if s.Address.IP != spare.Addr() || s.Reach == 0 {
				continue
			}
			if answer == 0 {
				answer = time.Since(start)
			}
			switch s.State {
			case chronyctl.StateSelected, chronyctl.StateCombined, chronyctl.StateNotCombined:
				return answer, time.Since(start)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("chronyd never found the spare server selectable")
	return 0, 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func peakRSSMB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // ru_maxrss is in KiB on Linux
}
