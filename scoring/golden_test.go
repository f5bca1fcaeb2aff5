package scoring

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata/scoring")

// demoScenario mirrors the demo lab: four good servers, a jittery and a
// lossy one (the poor starting set), a falseticker with low jitter, a
// KoD-RATE one and an unsynchronised one.
func demoScenario() []Measurement {
	mk := func(addr, name string, mod func(*Measurement)) Measurement {
		m := good(addr, name)
		m.RefID = ""
		mod(&m)
		return m
	}
	return []Measurement{
		mk("127.0.1.11", "good-1.lab", func(m *Measurement) { m.Stratum, m.Jitter = 1, 0.0001 }),
		mk("127.0.2.12", "good-2.lab", func(m *Measurement) { m.Jitter = 0.0003 }),
		mk("127.0.3.13", "good-3.lab", func(m *Measurement) { m.Jitter, m.Delay = 0.0004, 0.006 }),
		mk("127.0.4.14", "good-4.lab", func(m *Measurement) { m.Jitter, m.Delay = 0.0002, 0.015 }),
		mk("127.0.5.20", "jittery.lab", func(m *Measurement) {
			m.Origin, m.Jitter, m.SamplesSent, m.SamplesOK, m.Current = OriginChronyd, 0.030, 8, 8, true
		}),
		mk("127.0.6.21", "lossy.lab", func(m *Measurement) {
			m.Origin, m.SamplesSent, m.SamplesOK, m.Current = OriginChronyd, 8, 3, true
		}),
		mk("127.0.7.30", "falseticker.lab", func(m *Measurement) { m.Offset, m.Jitter = 0.0482, 0 }),
		mk("127.0.8.31", "kod.lab", func(m *Measurement) { m.KoD, m.SamplesSent, m.SamplesOK = "RATE", 1, 0 }),
		mk("127.0.9.32", "unsync.lab", func(m *Measurement) { m.Leap, m.Stratum = 3, 16 }),
	}
}

// The demo scenario's decisions over four runs against a reviewed golden
// file: run 1 fills the two empty slots at once and starts counting
// against the two poor members, run 2 replaces the worse of them, run 3
// the other, run 4 changes nothing. The golden file is the table the agent
// logs (scores to one decimal, so it does not depend on the last bits of
// floating point), reasons included.
func TestGoldenDemoDecisions(t *testing.T) {
	var st State
	ms := demoScenario()
	var b strings.Builder
	var runs []Decision
	for run := 0; run < 4; run++ {
		d, next := decide(t, ms, st, nil)
		runs = append(runs, d)
		st = next
		ms = markCurrent(ms, d.Selected)
		fmt.Fprintf(&b, "run %d: selected %v changed %v\n", run+1, selected(d), d.Changed)
		for _, ch := range d.Added {
			fmt.Fprintf(&b, "  + %s: %s\n", ch.Address, ch.Reason)
		}
		for _, ch := range d.Removed {
			fmt.Fprintf(&b, "  - %s: %s\n", ch.Address, ch.Reason)
		}
		for _, c := range d.Candidates {
			fmt.Fprintf(&b, "  %d %-11s %-16s %5.1f %-8s %s\n", c.Rank, c.Address, c.Name, c.Score, c.Verdict, c.Reason)
		}
	}
	require.ElementsMatch(t, []netip.Addr{
		netip.MustParseAddr("127.0.1.11"), netip.MustParseAddr("127.0.2.12"),
		netip.MustParseAddr("127.0.3.13"), netip.MustParseAddr("127.0.4.14"),
	}, runs[2].Selected, "converged to the good servers")
	require.False(t, runs[3].Changed, "and stays")

	path := filepath.Join("..", "testdata", "scoring", "demo-decisions.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./scoring -run Golden -update to create it")
	require.Equal(t, string(want), b.String())
}
