package main

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
)

// The charts' geometry in SVG user units; the page scales them to its
// width (viewBox). Every chart and the timeline share the left margin, so
// their time axes line up.
const (
	svgWidth     = 1140
	svgLeft      = 180 // room for the timeline's server names and the y labels
	svgRight     = 44  // half the last time label
	svgTop       = 24  // room for the unit above the value axis
	svgBottom    = 34
	chartHeight  = 260
	laneHeight   = 16
	laneGap      = 4
	pointRadius  = "2.5"
	laneLabelMax = 28 // characters of a server name beside its lane
)

// palette are the series colours (Tableau 10, chosen to stay apart for the
// colour-blind too); past ten servers the dash patterns tell them apart.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

var dashes = []string{"", "6 3", "2 3", "8 3 2 3"}

// seriesStyle is one server's colour and dash pattern in every chart.
type seriesStyle struct{ Colour, Dash string }

// seriesColours gives each server a style by its place in address order,
// so a server keeps its colour across the charts and the timeline, and
// across reports of the same servers.
func seriesColours(trends []agent.Trend) map[netip.Addr]seriesStyle {
	addrs := make([]netip.Addr, 0, len(trends))
	for _, t := range trends {
		addrs = append(addrs, t.Address)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	out := make(map[netip.Addr]seriesStyle, len(addrs))
	for i, a := range addrs {
		out[a] = seriesStyle{Colour: palette[i%len(palette)], Dash: dashes[i/len(palette)%len(dashes)]}
	}
	return out
}

// num formats an SVG coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// tick is an axis mark: its position in user units and its label.
type tick struct {
	Pos   string
	Label string
}

// timeAxis maps times onto the plot's width.
type timeAxis struct {
	from, to time.Time
	ticks    []tick
}

// timeSteps are the tick spacings a time axis chooses from.
var timeSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour,
	7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour}

// maxTimeTicks keeps the labels of a time axis apart.
const maxTimeTicks = 8

func newTimeAxis(from, to time.Time) timeAxis {
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		from, to = from.Add(-30*time.Minute), to.Add(30*time.Minute)
	}
	a := timeAxis{from: from, to: to}
	span := to.Sub(from)
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s < maxTimeTicks {
			step = s
			break
		}
	}
	layout := "Jan 2 15:04"
	if step >= 24*time.Hour {
		layout = "Jan 2"
	}
	for t := from.Truncate(step); !t.After(to); t = t.Add(step) {
		if t.Before(from) {
			continue
		}
		a.ticks = append(a.ticks, tick{Pos: num(a.x(t)), Label: t.Format(layout)})
	}
	return a
}

func (a timeAxis) x(t time.Time) float64 {
	f := float64(t.Sub(a.from)) / float64(a.to.Sub(a.from))
	return svgLeft + f*(svgWidth-svgLeft-svgRight)
}

// valueAxis maps values onto the plot's height.
type valueAxis struct {
	lo, hi float64
	top    float64 // user units of hi
	height float64
	ticks  []tick
}

// maxValueTicks is about how many lines a value axis draws.
const maxValueTicks = 6

// niceStep is 1, 2 or 5 times a power of ten, about span/n.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// newValueAxis covers lo..hi with round ticks; fixed keeps lo and hi as
// they are (the score's 0..100).
func newValueAxis(lo, hi float64, fixed bool, top, height float64) valueAxis {
	if hi-lo < 1e-9 {
		d := math.Max(math.Abs(hi)*0.1, 0.001)
		lo, hi = lo-d, hi+d
	}
	step := niceStep(hi-lo, maxValueTicks-1)
	if !fixed {
		lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	}
	a := valueAxis{lo: lo, hi: hi, top: top, height: height}
	decimals := max(0, int(-math.Floor(math.Log10(step))))
	first := math.Ceil(lo/step - 1e-9)
	for k := first; k*step <= hi+step*1e-9; k++ {
		v := k * step
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0"
		}
		a.ticks = append(a.ticks, tick{Pos: num(a.y(v)), Label: strconv.FormatFloat(v, 'f', decimals, 64)})
	}
	return a
}

func (a valueAxis) y(v float64) float64 {
	return a.top + (a.hi-v)/(a.hi-a.lo)*a.height
}

// chart is one metric over time, one series per server.
type chart struct {
	ID, Title, Unit string
	Height          int
	PlotTop         string
	PlotBottom      string
	PlotLeft        string
	PlotRight       string
	XTicks, YTicks  []tick
	Zero            string // the y of 0 when the axis crosses it, else ""
	Series          []series
	Points          int
}

// series is one server's line: a path broken where it was not measured,
// and a circle with a tooltip per measured run.
type series struct {
	Label, Address string
	seriesStyle
	Path   string
	Points []point
}

type point struct{ X, Y, Title string }

// metric is what a chart plots of a trend point.
type metric struct {
	id, title, unit string
	value           func(agent.TrendPoint) float64
	format          string // of a point's value in its tooltip
	lo, hi          float64
	fixed           bool
}

var reportMetrics = []metric{
	{id: "offset", title: "Offset", unit: "ms", format: "%+.3f ms",
		value: func(p agent.TrendPoint) float64 { return p.Offset * 1e3 }},
	{id: "jitter", title: "Jitter", unit: "ms", format: "%.3f ms",
		value: func(p agent.TrendPoint) float64 { return p.Jitter * 1e3 }},
	{id: "score", title: "Score", unit: "0–100", format: "%.1f", lo: 0, hi: 100, fixed: true,
		value: func(p agent.TrendPoint) float64 { return p.Score }},
}

// plotted says a point belongs on the charts: the server answered, in a
// run that was not an outage.
func plotted(p agent.TrendPoint, outages map[string]bool) bool {
	return p.Measured && !outages[p.RunID]
}

func buildCharts(trends []agent.Trend, outages map[string]bool, styles map[netip.Addr]seriesStyle, x timeAxis) []chart {
	var out []chart
	for _, m := range reportMetrics {
		out = append(out, buildChart(m, trends, outages, styles, x))
	}
	return out
}

func buildChart(m metric, trends []agent.Trend, outages map[string]bool, styles map[netip.Addr]seriesStyle, x timeAxis) chart {
	lo, hi := m.lo, m.hi
	if !m.fixed {
		lo, hi = 0, 0 // offset and jitter axes include 0
		for _, t := range trends {
			for _, p := range t.Points {
				if plotted(p, outages) {
					v := m.value(p)
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	plotH := float64(chartHeight - svgTop - svgBottom)
	y := newValueAxis(lo, hi, m.fixed, svgTop, plotH)
	c := chart{ID: m.id, Title: m.title, Unit: m.unit, Height: chartHeight,
		PlotTop: num(svgTop), PlotBottom: num(svgTop + plotH), PlotLeft: num(svgLeft), PlotRight: num(svgWidth - svgRight),
		XTicks: x.ticks, YTicks: y.ticks}
	if y.lo < 0 && y.hi > 0 {
		c.Zero = num(y.y(0))
	}
	for _, t := range trends {
		s := series{Label: serverLabel(t.Server, t.Address), Address: t.Address.String(), seriesStyle: styles[t.Address]}
		var path []byte
		gap := true
		for _, p := range t.Points {
			if outages[p.RunID] {
				continue // says nothing about the server: the line goes on
			}
			if !p.Measured {
				gap = true
				continue
			}
			v := m.value(p)
			px, py := num(x.x(p.Time)), num(y.y(v))
			cmd := byte('L')
			if gap {
				cmd = 'M'
			}
			path = fmt.Appendf(path, "%c%s %s", cmd, px, py)
			gap = false
			s.Points = append(s.Points, point{X: px, Y: py,
				Title: fmt.Sprintf("%s, %s: "+m.format, s.Label, reportTime(p.Time), v)})
		}
		if len(s.Points) == 0 {
			continue // never answered in the window: nothing to draw
		}
		s.Path = string(path)
		c.Points += len(s.Points)
		c.Series = append(c.Series, s)
	}
	return c
}

// timeline is the swimlane of the set: a lane per server that was in it,
// a bar for each stretch in the set, and a mark per run.
type timeline struct {
	Height            int
	PlotTop, PlotLeft string
	PlotRight         string
	AxisY             string
	XTicks            []tick
	Lanes             []lane
	RunsY             string
	RunsLabelY        string
	Runs              []runMark
}

type lane struct {
	Label, Short, Address string
	seriesStyle
	Y, TextY string
	Bars     []bar
}

type bar struct{ X, W, Title string }

type runMark struct{ X, Class, Title string }

// laneSet is the set in use after each run: what an applied or unchanged
// run selected, else (dry run, rollback, failure, outage) the set before.
func laneSets(runs []agent.Report) [][]string {
	out := make([][]string, len(runs))
	var cur []string
	for i, r := range runs {
		if effectiveOutcome(r.Outcome) {
			cur = r.Selected
		}
		out[i] = cur
	}
	return out
}

func buildTimeline(runs []agent.Report, trends []agent.Trend, styles map[netip.Addr]seriesStyle, x timeAxis) *timeline {
	sets := laneSets(runs)
	inSet := map[netip.Addr]bool{}
	for _, s := range sets {
		for _, a := range s {
			if ip, err := netip.ParseAddr(a); err == nil {
				inSet[ip] = true
			}
		}
	}
	// Lanes in the charts' order (the current set first); a selected
	// address no candidate carried comes last, in address order.
	var addrs []netip.Addr
	names := map[netip.Addr]string{}
	for _, t := range trends {
		names[t.Address] = t.Server
		if inSet[t.Address] {
			addrs = append(addrs, t.Address)
		}
	}
	var extra []netip.Addr
	for a := range inSet {
		if _, ok := names[a]; !ok {
			extra = append(extra, a)
		}
	}
	slices.SortFunc(extra, netip.Addr.Compare)
	addrs = append(addrs, extra...)

	tl := &timeline{PlotTop: num(svgTop), PlotLeft: num(svgLeft), PlotRight: num(svgWidth - svgRight), XTicks: x.ticks}
	yy := float64(svgTop)
	for _, a := range addrs {
		label := serverLabel(names[a], a)
		short := names[a]
		if short == "" {
			short = a.String()
		}
		if r := []rune(short); len(r) > laneLabelMax {
			short = string(r[:laneLabelMax-1]) + "…"
		}
		l := lane{Label: label, Short: short, Address: a.String(), seriesStyle: styles[a],
			Y: num(yy), TextY: num(yy + laneHeight - 4)}
		if l.Colour == "" {
			l.Colour = palette[7]
		}
		start := -1
		flush := func(end int) {
			if start < 0 {
				return
			}
			t0, t1 := runs[start].Time, x.to
			if end < len(runs) {
				t1 = runs[end].Time
			}
			x0, x1 := x.x(t0), x.x(t1)
			until := "now"
			if end < len(runs) {
				until = reportTime(t1) + " (run " + runs[end].RunID + ")"
			}
			l.Bars = append(l.Bars, bar{X: num(x0), W: num(math.Max(x1-x0, 1)),
				Title: fmt.Sprintf("%s in the set from %s (run %s) to %s", label, reportTime(t0), runs[start].RunID, until)})
			start = -1
		}
		for i, s := range sets {
			if slices.Contains(s, a.String()) {
				if start < 0 {
					start = i
				}
			} else {
				flush(i)
			}
		}
		flush(len(runs))
		tl.Lanes = append(tl.Lanes, l)
		yy += laneHeight + laneGap
	}
	tl.RunsY = num(yy)
	tl.RunsLabelY = num(yy + laneHeight - 4)
	for _, r := range runs {
		title := fmt.Sprintf("%s run %s: %s", reportTime(r.Time), r.RunID, r.Outcome)
		if r.Reason != "" {
			title += ": " + r.Reason
		}
		tl.Runs = append(tl.Runs, runMark{X: num(x.x(r.Time)), Class: outcomeClass(r.Outcome), Title: title})
	}
	yy += laneHeight
	tl.AxisY = num(yy)
	tl.Height = int(yy) + svgBottom
	return tl
}
