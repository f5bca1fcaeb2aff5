package main

import (
	"html/template"
	"io"
	"strconv"
)

// renderReport writes the page. html/template escapes every name, reason
// and evidence line, in the SVG too.
func renderReport(w io.Writer, p *reportPage) error {
	return reportTemplate.Execute(w, p)
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"yLabelX": func() string { return num(svgLeft - 8) },
	// plus offsets a coordinate num formatted (a label below an axis).
	"plus": func(y string, d float64) string {
		f, _ := strconv.ParseFloat(y, 64)
		return num(f + d)
	},
	"width": func() int { return svgWidth },
	"lane":  func() int { return laneHeight },
}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ntp-optimizer report">
<title>ntp-optimizer report, {{.Generated}}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;background:#fff;margin:0 auto;padding:16px 20px;max-width:1180px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
p.meta{color:#555;margin:0 0 4px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.selected td.verdict{color:#1a7f37;font-weight:600}
tr.rejected td.verdict{color:#b42318}
tr.standby td.verdict{color:#8a6d00}
.set{font-weight:600}
svg.chart,svg.timeline{width:100%;height:auto;display:block}
svg text{font:12px system-ui,"DejaVu Sans",sans-serif;fill:#444}
.grid line{stroke:#e6e6e6;stroke-width:1}
.axis line{stroke:#888;stroke-width:1}
line.zero{stroke:#999;stroke-dasharray:4 3}
.series path{fill:none;stroke-width:2}
.series circle{stroke:none}
.lane rect{opacity:.85}
.run{fill:#999}
.run-applied{fill:#1f77b4}.run-unchanged{fill:#aaa}.run-dry-run{fill:#ddd}
.run-rolled-back,.run-failed,.run-not-persisted{fill:#d62728}.run-outage{fill:#ff7f0e}.run-no-usable{fill:#9467bd}
ul.legend{list-style:none;padding:0;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:2px 16px;font-size:12px}
ul.legend li{white-space:nowrap}
ul.legend svg{vertical-align:middle;margin-right:4px}
.swatch{display:inline-block;vertical-align:middle}
ul.evidence{margin:2px 0 0;padding-left:18px;color:#555;font-size:12px}
.empty{color:#777;font-style:italic}
.sign-add{color:#1a7f37;font-weight:600}.sign-remove{color:#b42318;font-weight:600}
</style>
</head>
<body>
<h1>ntp-optimizer report</h1>
<p class="meta">Generated {{.Generated}} from <code>{{.StateDir}}</code>, the last {{.Since}}{{if .Runs}} ({{.From}} to {{.To}}){{end}}.</p>
<p class="meta">{{.Runs}} stored runs in the window{{if .Outages}}, {{.Outages}} of them outages (nothing answered; left out of the charts){{end}}.
All runs recorded: {{.Counters.Runs}} ({{.Counters.Changes}} changed the set, {{.Counters.Rollbacks}} rolled back, {{.Counters.Failures}} failed, {{.Counters.Outages}} outages).</p>

<h2 id="set">Current set</h2>
{{with .Decision}}
<p>Last decision: run <code>{{.RunID}}</code> at {{.Time}}, <b>{{.Outcome}}</b>{{with .Reason}}: {{.}}{{end}}.</p>
<p>{{if .Effective}}In use{{else}}Decided, not applied{{end}}: <span class="set">{{range $i, $s := .Set}}{{if $i}}, {{end}}{{$s}}{{else}}none{{end}}</span></p>
{{if not .Effective}}<p>In use since the latest run that applied a set or found it in place: <span class="set">{{range $i, $s := .InUse}}{{if $i}}, {{end}}{{$s}}{{else}}not known from the window's runs{{end}}</span></p>{{end}}
<table class="candidates">
<thead><tr><th></th><th>Server</th><th>Address</th><th>Verdict</th><th>Score</th><th>Offset (ms)</th><th>Jitter (ms)</th><th>Auth</th><th>Reason</th></tr></thead>
<tbody>
{{range .Candidates}}<tr class="{{.Verdict}}"><td>{{with .Colour}}<svg class="swatch" width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="{{.}}"/></svg>{{end}}</td><td>{{.Server}}</td><td>{{.Address}}</td><td class="verdict">{{.Verdict}}</td><td class="num">{{.Score}}</td><td class="num">{{.Offset}}</td><td class="num">{{.Jitter}}</td><td>{{with .Auth}}{{.}}{{else}}-{{end}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{else}}
<p class="empty">No run has been recorded in {{.StateDir}} (ntp-optimizer apply).</p>
{{end}}
{{range $c := .Charts}}
<h2 id="{{.ID}}">{{.Title}} ({{.Unit}})</h2>
{{if .Series}}
<svg class="chart" id="chart-{{.ID}}" data-chart="{{.ID}}" data-series="{{len .Series}}" data-points="{{.Points}}" viewBox="0 0 {{width}} {{.Height}}" role="img" aria-label="{{.Title}} per server over time, {{.Unit}}">
<g class="grid">{{range .YTicks}}<line x1="{{$c.PlotLeft}}" x2="{{$c.PlotRight}}" y1="{{.Pos}}" y2="{{.Pos}}"/>{{end}}{{range .XTicks}}<line x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$c.PlotTop}}" y2="{{$c.PlotBottom}}"/>{{end}}</g>
<g class="axis"><line x1="{{.PlotLeft}}" x2="{{.PlotLeft}}" y1="{{.PlotTop}}" y2="{{.PlotBottom}}"/><line x1="{{.PlotLeft}}" x2="{{.PlotRight}}" y1="{{.PlotBottom}}" y2="{{.PlotBottom}}"/>
{{range .YTicks}}<text x="{{yLabelX}}" y="{{plus .Pos 4}}" text-anchor="end">{{.Label}}</text>{{end}}
{{range .XTicks}}<line x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$c.PlotBottom}}" y2="{{plus $c.PlotBottom 5}}"/><text x="{{.Pos}}" y="{{plus $c.PlotBottom 20}}" text-anchor="middle">{{.Label}}</text>{{end}}
<text x="{{.PlotLeft}}" y="{{plus .PlotTop -10}}" font-weight="600">{{.Unit}}</text></g>
{{with .Zero}}<line class="zero" x1="{{$c.PlotLeft}}" x2="{{$c.PlotRight}}" y1="{{.}}" y2="{{.}}"/>{{end}}
{{range .Series}}<g class="series" data-server="{{.Address}}" data-points="{{len .Points}}" fill="{{.Colour}}" stroke="{{.Colour}}"><title>{{.Label}}</title><path d="{{.Path}}"{{with .Dash}} stroke-dasharray="{{.}}"{{end}}/>{{range .Points}}<circle cx="{{.X}}" cy="{{.Y}}" r="2.5"><title>{{.Title}}</title></circle>{{end}}</g>
{{end}}</svg>
<ul class="legend">{{range .Series}}<li><svg width="26" height="10" aria-hidden="true"><line x1="0" y1="5" x2="26" y2="5" stroke="{{.Colour}}" stroke-width="2"{{with .Dash}} stroke-dasharray="{{.}}"{{end}}/><circle cx="13" cy="5" r="2.5" fill="{{.Colour}}"/></svg>{{.Label}}</li>{{end}}</ul>
{{else}}
<p class="empty">No server answered in the window.</p>
{{end}}
{{end}}
{{with $tl := .Timeline}}
<h2 id="timeline">Servers in the set</h2>
<svg class="timeline" data-lanes="{{len .Lanes}}" data-runs="{{len .Runs}}" viewBox="0 0 {{width}} {{.Height}}" role="img" aria-label="which servers were in the set over time">
<g class="grid">{{range .XTicks}}<line x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$tl.PlotTop}}" y2="{{$tl.AxisY}}"/>{{end}}</g>
{{range $l := .Lanes}}<g class="lane" data-server="{{$l.Address}}" data-bars="{{len $l.Bars}}"><text x="{{yLabelX}}" y="{{$l.TextY}}" text-anchor="end"><title>{{$l.Label}}</title>{{$l.Short}}</text>{{range $l.Bars}}<rect x="{{.X}}" y="{{$l.Y}}" width="{{.W}}" height="{{lane}}" fill="{{$l.Colour}}"><title>{{.Title}}</title></rect>{{end}}</g>
{{end}}<g class="runs"><text x="{{yLabelX}}" y="{{.RunsLabelY}}" text-anchor="end">runs</text>{{range .Runs}}<rect class="run {{.Class}}" x="{{plus .X -1}}" y="{{$tl.RunsY}}" width="2" height="{{lane}}"><title>{{.Title}}</title></rect>{{end}}</g>
<g class="axis"><line x1="{{.PlotLeft}}" x2="{{.PlotRight}}" y1="{{.AxisY}}" y2="{{.AxisY}}"/>{{range .XTicks}}<line x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$tl.AxisY}}" y2="{{plus $tl.AxisY 5}}"/><text x="{{.Pos}}" y="{{plus $tl.AxisY 20}}" text-anchor="middle">{{.Label}}</text>{{end}}</g>
</svg>
<p class="meta">Bars: in the set (applied or found in place; a dry run, rollback, failure or outage leaves the set as it was). Runs:
<svg width="8" height="10" aria-hidden="true"><rect class="run run-applied" width="8" height="10"/></svg> applied,
<svg width="8" height="10" aria-hidden="true"><rect class="run run-unchanged" width="8" height="10"/></svg> unchanged,
<svg width="8" height="10" aria-hidden="true"><rect class="run run-dry-run" width="8" height="10"/></svg> dry run,
<svg width="8" height="10" aria-hidden="true"><rect class="run run-outage" width="8" height="10"/></svg> outage,
<svg width="8" height="10" aria-hidden="true"><rect class="run run-rolled-back" width="8" height="10"/></svg> rolled back or failed. Times are UTC.</p>
{{end}}

<h2 id="changes">Changes</h2>
{{if .Changes}}
<table class="changes">
<thead><tr><th>Time</th><th>Run</th><th>Outcome</th><th>Change</th></tr></thead>
<tbody>
{{range .Changes}}<tr class="change"><td class="num">{{.Time}}</td><td><code>{{.RunID}}</code></td><td>{{.Outcome}}{{with .Note}}<br><small>{{.}}</small>{{end}}</td><td>{{range .Items}}<div class="item"><span class="{{if eq .Sign "+"}}sign-add{{else}}sign-remove{{end}}">{{.Sign}}</span> {{.Server}} ({{.Address}}): {{.Reason}}</div>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{else}}
<p class="empty">No change in the window.</p>
{{end}}

<h2 id="blacklist">Blacklist</h2>
{{if .Blacklist}}
<table class="blacklist">
<thead><tr><th>Address</th><th>Server</th><th>Kind</th><th>Since</th><th>Until</th><th>State</th><th>Count</th><th>Reason and evidence</th></tr></thead>
<tbody>
{{range .Blacklist}}<tr class="entry"><td>{{.Address}}</td><td>{{.Server}}</td><td>{{.Kind}}</td><td class="num">{{.Since}}</td><td class="num">{{.Until}}</td><td>{{.State}}</td><td class="num">{{.Count}}</td><td>{{.Reason}}{{if .Evidence}}<ul class="evidence">{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{else}}
<p class="empty">No server is or was blacklisted.</p>
{{end}}
{{if .Failures}}
<p>Not answering, counting toward the blacklist:</p>
<table class="failures">
<thead><tr><th>Address</th><th>Runs in a row</th><th>Evidence</th></tr></thead>
<tbody>
{{range .Failures}}<tr><td>{{.Address}}</td><td class="num">{{.Runs}}</td><td>{{if .Evidence}}<ul class="evidence">{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
</body>
</html>
`
