package agent

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Trend is one server's history over the stored runs.
type Trend struct {
	Server  string       `json:"server"`
	Address netip.Addr   `json:"address"`
	Points  []TrendPoint `json:"runs"`
}

// TrendPoint is a server's measurement in one run.
type TrendPoint struct {
	Time     time.Time       `json:"time"`
	RunID    string          `json:"run_id"`
	Score    float64         `json:"score"`
	Offset   float64         `json:"offset_s"`
	Jitter   float64         `json:"jitter_s"`
	Measured bool            `json:"measured"` // false: no usable reply that run
	Verdict  scoring.Verdict `json:"verdict"`
}

// Trends groups the runs' candidates by address, oldest run first. filter,
// when not empty, keeps the servers whose name or address contains it
// (case-insensitive). Servers are ordered by their latest verdict
// (selected, standby, rejected), then by their latest score, best first.
func Trends(runs []Report, filter string) []Trend {
	filter = strings.ToLower(filter)
	byAddr := map[netip.Addr]*Trend{}
	for _, r := range runs {
		for _, c := range r.Candidates {
			if !c.Address.IsValid() {
				continue
			}
			if filter != "" && !strings.Contains(strings.ToLower(c.Name), filter) &&
				!strings.Contains(c.Address.String(), filter) {
				continue
			}
			t := byAddr[c.Address]
			if t == nil {
				t = &Trend{Server: c.Name, Address: c.Address}
				byAddr[c.Address] = t
			}
			t.Points = append(t.Points, TrendPoint{Time: r.Time, RunID: r.RunID, Score: c.Score, Offset: c.Offset,
				Jitter: c.Jitter, Measured: c.SamplesOK > 0, Verdict: c.Verdict})
		}
	}
	out := make([]Trend, 0, len(byAddr))
	for _, t := range byAddr {
		out = append(out, *t)
	}
	rank := map[scoring.Verdict]int{scoring.Selected: 0, scoring.Standby: 1, scoring.Rejected: 2}
	slices.SortFunc(out, func(a, b Trend) int {
		la, lb := a.Points[len(a.Points)-1], b.Points[len(b.Points)-1]
		return cmp.Or(cmp.Compare(rank[la.Verdict], rank[lb.Verdict]), cmp.Compare(lb.Score, la.Score),
			a.Address.Compare(b.Address))
	})
	return out
}

// sparkBars are the eight block heights of a sparkline.
var sparkBars = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values from lo to hi as block characters, one per value;
// a value that was not measured is a space.
func Sparkline(values []float64, measured []bool, lo, hi float64) string {
	var b strings.Builder
	for i, v := range values {
		if measured != nil && !measured[i] {
			b.WriteRune(' ')
			continue
		}
		f := (v - lo) / (hi - lo)
		n := int(f*float64(len(sparkBars)-1) + 0.5)
		b.WriteRune(sparkBars[max(0, min(len(sparkBars)-1, n))])
	}
	return b.String()
}
