package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// dashboard is the part of Grafana's dashboard model (schemaVersion 39,
// Grafana 10 and later) that import and provisioning need.
type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Time struct{ From, To string } `json:"time"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	GridPos    *struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// builtInPanels are the panel types Grafana ships (no plugin to install).
var builtInPanels = []string{"row", "stat", "timeseries", "state-timeline", "table", "gauge", "bargauge", "text"}

const dsVar = "${DS_PROMETHEUS}"

// TestGrafanaDashboard: the dashboard is well-formed Grafana JSON with its
// data source as a variable, and every metric its queries use is one the
// agent exports (or chrony_exporter's).
func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	require.NotEmpty(t, d.Title)
	require.NotEmpty(t, d.UID)
	require.GreaterOrEqual(t, d.SchemaVersion, 36, "a schema with datasource references by uid")
	require.NotEmpty(t, d.Time.From)

	// The data source is a variable: a datasource-type templating
	// variable for provisioning, and an import input of the same name.
	var exprs []string
	dsVariable := false
	for _, v := range d.Templating.List {
		require.NotEmpty(t, v.Name)
		switch v.Type {
		case "datasource":
			var q string
			require.NoError(t, json.Unmarshal(v.Query, &q))
			require.Equal(t, "prometheus", q)
			dsVariable = dsVariable || "${"+v.Name+"}" == dsVar
		case "query":
			require.Equal(t, &datasourceRef{Type: "prometheus", UID: dsVar}, v.Datasource, v.Name)
			var q struct{ Query string }
			require.NoError(t, json.Unmarshal(v.Query, &q))
			require.NotEmpty(t, q.Query, v.Name)
			exprs = append(exprs, q.Query)
		}
	}
	require.True(t, dsVariable, "templating.list has the datasource variable DS_PROMETHEUS")
	require.Len(t, d.Inputs, 1)
	require.Equal(t, "DS_PROMETHEUS", d.Inputs[0].Name)
	require.Equal(t, "prometheus", d.Inputs[0].PluginID)

	ids := map[int]bool{}
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	require.NotEmpty(t, all)
	for _, p := range all {
		require.NotEmpty(t, p.Title, "panel %d", p.ID)
		require.Contains(t, builtInPanels, p.Type, p.Title)
		require.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		require.NotNil(t, p.GridPos, p.Title)
		require.True(t, p.GridPos.W > 0 && p.GridPos.X+p.GridPos.W <= 24 && p.GridPos.H > 0, "%s: gridPos in the 24 columns", p.Title)
		if p.Type == "row" {
			continue
		}
		require.Equal(t, &datasourceRef{Type: "prometheus", UID: dsVar}, p.Datasource, p.Title)
		require.NotEmpty(t, p.Targets, "%s has queries", p.Title)
		refs := map[string]bool{}
		for _, q := range p.Targets {
			require.NotEmpty(t, q.Expr, p.Title)
			require.NotEmpty(t, q.RefID, p.Title)
			require.False(t, refs[q.RefID], "%s: refId %s twice", p.Title, q.RefID)
			refs[q.RefID] = true
			require.Equal(t, &datasourceRef{Type: "prometheus", UID: dsVar}, q.Datasource, p.Title)
			exprs = append(exprs, q.Expr)
		}
	}
	checkMetricNames(t, "ntp-optimizer.json", strings.Join(exprs, "\n"))
	for i, a := range d.Panels {
		for _, b := range d.Panels[i+1:] {
			ga, gb := a.GridPos, b.GridPos
			overlap := ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H
			require.False(t, overlap, "panels %q and %q overlap", a.Title, b.Title)
		}
	}
	checkPromQL(t, exprs)

	// What the dashboard is for (issue 15): each is in some panel.
	for _, name := range []string{"ntp_optimizer_server_offset_seconds", "ntp_optimizer_server_jitter_seconds",
		"ntp_optimizer_server_reach_ratio", "ntp_optimizer_server_score", "ntp_optimizer_server_selected",
		"ntp_optimizer_changes_total", "ntp_optimizer_rollbacks_total", "ntp_optimizer_last_run_timestamp_seconds",
		"ntp_optimizer_selected_nts_sources", "ntp_optimizer_server_nts"} {
		require.Contains(t, strings.Join(exprs, "\n"), name)
	}
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "ntp-optimizer.json"))
	require.NoError(t, err)
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	require.NoError(t, dec.Decode(&d), "valid JSON")
	require.False(t, dec.More(), "one JSON document")
	return d
}

// dashboardVars replaces the dashboard's variables by values Grafana could
// give them ("All" for instance and server).
var dashboardVars = strings.NewReplacer(`$instance`, `.*`, `$server`, `.*`, `$__range`, `1d`,
	`$__rate_interval`, `5m`, `$__interval`, `1m`)

// dashboardQueries are the panels' queries, ready to run.
func dashboardQueries(t *testing.T) []string {
	var qs []string
	for _, p := range loadDashboard(t).Panels {
		for _, q := range p.Targets {
			qs = append(qs, dashboardVars.Replace(q.Expr))
		}
	}
	require.NotEmpty(t, qs)
	return qs
}

// checkPromQL has promtool parse each query, its variables replaced by
// values Grafana could give them, as the expression of a recording rule.
func checkPromQL(t *testing.T, exprs []string) {
	promtool := testtool.Need(t, "promtool", "prometheus")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		if strings.HasPrefix(e, "label_values(") {
			// Grafana's, not PromQL: check the selector inside.
			e = strings.TrimSuffix(strings.TrimPrefix(e, "label_values("), ")")
			e = e[:strings.LastIndex(e, ",")]
		}
		q, err := json.Marshal(dashboardVars.Replace(e))
		require.NoError(t, err)
		fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	require.NoError(t, os.WriteFile(path, []byte(rules.String()), 0o644))
	out := run(t, filepath.Dir(path), nil, time.Minute, promtool, "check", "rules", "--lint=none", path)
	require.Contains(t, out, "SUCCESS")
}
