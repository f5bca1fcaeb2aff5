package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/chronylive"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// measureFigures are one mode's figures, kept for the side-by-side
// ratios.
type measureFigures struct {
	winnerRun, winnerAfter, loserRun, loserAfter float64
	wall                                         time.Duration
}

// BenchmarkApplyMeasure (issue 14) runs one apply from the poor start of
// BenchmarkApply (the same lab: 20 names of 3 addresses, chronyd on two
// poor servers) with the production schedule (4 samples 2 s apart,
// iburst), once with testing.measure = probe and once with chronyd, on
// chronyd 4.3 (winners deleted and re-added) and 4.6 (selectopts), side by
// side. The lab runs in-process so that it can count the packets each
// server receives (ntplab.Server.Stats):
//
//   - pkts/winner-run, pkts/winner-10s: packets a newly added server
//     received during the run and in the 10 s after it (today's probe:
//     4 + chronyd's iburst 4 = 8; the target with chronyd ≤ 5);
//   - pkts/loser-run, pkts/loser-10s: the same for a new candidate that
//     was measured and not added;
//   - ratio-to-iburst-floor: wall time against chronyd's own floor for an
//     audition, 3 × 2 s (iburst's four requests) plus chronyd's first
//     answer from a fresh source (target ≤ 1.2 under chronyd);
//   - cpu-s and peak-rss-MB: the process's, the in-process lab's few
//     hundred packets included; peak RSS is the process's peak so far.
//
// The chronyd sub-benchmark also reports its figures over the probe's of
// the same release (x-chronyd-over-probe).
func BenchmarkApplyMeasure(b *testing.B) {
	scenario := filepath.Join("..", "testdata", "lab", "apply-bench.toml")
	for k, v := range chronytest.Versions {
		got := map[string]measureFigures{}
		for _, mode := range []string{agent.MeasureProbe, agent.MeasureChronyd} {
			b.Run(fmt.Sprintf("%s/measure=%s", v, mode), func(b *testing.B) {
				chronytest.Need(b, v)
				for range b.N {
					got[mode] = applyMeasureOnce(b, v, mode, scenario, k)
				}
				if mode == agent.MeasureChronyd {
					p, c := got[agent.MeasureProbe], got[agent.MeasureChronyd]
					if p.wall > 0 {
						b.ReportMetric(c.winnerRun/p.winnerRun, "x-winner-pkts-chronyd-over-probe")
						b.ReportMetric((c.winnerRun+c.winnerAfter)/(p.winnerRun+p.winnerAfter), "x-winner-pkts+10s-chronyd-over-probe")
						if p.loserRun > 0 {
							b.ReportMetric(c.loserRun/p.loserRun, "x-loser-pkts-chronyd-over-probe")
						}
						b.ReportMetric(c.wall.Seconds()/p.wall.Seconds(), "x-wall-chronyd-over-probe")
					}
				}
			})
		}
	}
}

// applyMeasureOnce is one apply in mode against a fresh lab and chronyd.
func applyMeasureOnce(b *testing.B, v chronytest.Version, mode, scenario string, k int) measureFigures {
	b.Helper()
	data, err := os.ReadFile(scenario)
	if err != nil {
		b.Fatal(err)
	}
	spare := "\n[[server]]\nname = \"spare\"\ntruth = \"good\"\nstratum = 2\nrefid = \"192.0.2.8\"\ndelay = \"3ms\"\n"
	sc, err := ntplab.Parse(append(data, spare...))
	if err != nil {
		b.Fatal(err)
	}
	base := netip.AddrFrom4([4]byte{127, byte(150 + (os.Getpid()+k)%50), 0, 1})
	lab, err := ntplab.Start(sc, ntplab.Options{Base: base, Port: uint16(21000 + (os.Getpid()+7*k)%30000), Spread: true})
	if err != nil {
		b.Fatal(err)
	}
	defer lab.Close()
	var order []*ntplab.Server
	for _, s := range lab.Servers() {
		if s.Profile().Name != "spare" {
			order = append(order, s)
		}
	}
	const names = 20
	per := len(order) / names
	resolver := ntplab.Resolver{}
	var list []string
	for i := range names {
		name := fmt.Sprintf("%d.bench%02d.pool.ntp.org", i%4, i)
		list = append(list, name)
		for _, s := range order[i*per : (i+1)*per] {
			resolver[name] = append(resolver[name], s.Addr().Addr())
		}
	}
	poor1, poor2, sp := lab.Server("poor-1").Addr(), lab.Server("poor-2").Addr(), lab.Server("spare").Addr()
	d := chronytest.Start(b, chronytest.Options{Version: v, SourceDir: true, Config: []string{
		fmt.Sprintf("server %s port %d iburst", poor1.Addr(), poor1.Port()),
		fmt.Sprintf("server %s port %d iburst", poor2.Addr(), poor2.Port()),
	}})
	defer d.Kill()
	cl := d.Client(b)
	answer, _ := untilSelectable(b, cl, sp)

	p := prober.New(prober.DefaultConfig(), zerolog.Nop())
	p.Resolver = resolver
	p.Port = int(sp.Port())
	dc := discovery.DefaultConfig()
	dc.NoDiscovery, dc.Servers = true, list
	a := &agent.Agent{
		Settings: agent.Settings{Discovery: dc, Scoring: scoring.DefaultConfig(), Policy: daemon.PolicyConverge,
			Measure: mode, Spacing: prober.DefaultSpacing},
		Backend: &chronylive.Backend{Client: cl, Config: chronylive.Config{SourceOptions: "iburst"},
			File: &chronylive.SourcesFile{Path: filepath.Join(d.SourceDir, chronylive.SourcesFileName)}},
		Discoverer: &discovery.Discoverer{Log: zerolog.Nop()},
		Prober:     p,
		Store:      &agent.Store{Dir: b.TempDir()},
		Log:        zerolog.Nop(),
	}
	count := func() map[netip.Addr]int {
		out := map[netip.Addr]int{}
		for _, s := range order {
			out[s.Addr().Addr()] = s.Stats().Received
		}
		return out
	}
	c0 := count()
	cpu0 := cpuTime()
	start := time.Now()
	rep, err := a.Run(context.Background(), agent.Options{})
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	if err != nil {
		b.Fatalf("apply (%s): %v", mode, err)
	}
	c1 := count()
	time.Sleep(10 * time.Second)
	c2 := count()

	winners := map[netip.Addr]bool{}
	for _, c := range rep.Added {
		winners[c.Address] = true
	}
	var f measureFigures
	nw, nl := 0, 0
	for _, s := range order {
		ad := s.Addr().Addr()
		if ad == poor1.Addr() || ad == poor2.Addr() || c1[ad] == c0[ad] {
			continue // chronyd's own, or never measured
		}
		run, after := float64(c1[ad]-c0[ad]), float64(c2[ad]-c1[ad])
		if winners[ad] {
			f.winnerRun, f.winnerAfter, nw = f.winnerRun+run, f.winnerAfter+after, nw+1
		} else {
			f.loserRun, f.loserAfter, nl = f.loserRun+run, f.loserAfter+after, nl+1
		}
	}
	if nw > 0 {
		f.winnerRun, f.winnerAfter = f.winnerRun/float64(nw), f.winnerAfter/float64(nw)
	}
	if nl > 0 {
		f.loserRun, f.loserAfter = f.loserRun/float64(nl), f.loserAfter/float64(nl)
	}
	f.wall = wall
	floor := 3*agent.AuditionSpacing + answer
	b.ReportMetric(f.winnerRun, "pkts/winner-run")
	b.ReportMetric(f.winnerAfter, "pkts/winner-10s")
	b.ReportMetric(f.loserRun, "pkts/loser-run")
	b.ReportMetric(f.loserAfter, "pkts/loser-10s")
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(wall.Seconds()/floor.Seconds(), "ratio-to-iburst-floor")
	b.ReportMetric(cpu.Seconds(), "cpu-s")
	b.ReportMetric(peakRSSMB(), "peak-rss-MB")
	b.Logf("%s measure=%s: %s, %d added %d removed; %d winners, %d losers measured; wall %v, iburst floor %v (first answer %v), cpu %v",
		v, mode, rep.Outcome, len(rep.Added), len(rep.Removed), nw, nl, wall.Round(time.Millisecond),
		floor.Round(time.Millisecond), answer.Round(time.Millisecond), cpu.Round(time.Millisecond))
	return f
}
