package deploy

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
	"github.com/ntp-optimizer/ntp-optimizer/metrics"
)

// TestPrometheusRules checks the alert rules with promtool (check rules,
// then their unit tests, ntp-optimizer.rules_test.yml).
func TestPrometheusRules(t *testing.T) {
	promtool := testtool.Need(t, "promtool", "prometheus")
	dir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	out := run(t, dir, nil, time.Minute, promtool, "check", "rules", "ntp-optimizer.rules.yml")
	require.Contains(t, out, "SUCCESS")
	out = run(t, dir, nil, 2*time.Minute, promtool, "test", "rules", "ntp-optimizer.rules_test.yml")
	require.Contains(t, out, "SUCCESS")
}

// TestPrometheusRulesUseExportedMetrics: every ntp_optimizer_* name in
// the rules is one the agent writes, every chrony_* name one
// chrony_exporter exports, and every rule has a unit test.
func TestPrometheusRulesUseExportedMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "ntp-optimizer.rules.yml"))
	require.NoError(t, err)
	exprs := ruleExprs(string(b))
	require.Len(t, exprs, strings.Count(string(b), "- alert: "), "one expr per rule")
	checkMetricNames(t, "ntp-optimizer.rules.yml", strings.Join(exprs, "\n"))

	tests, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "ntp-optimizer.rules_test.yml"))
	require.NoError(t, err)
	alerts := regexp.MustCompile(`(?m)^\s+- alert: (\w+)$`).FindAllStringSubmatch(string(b), -1)
	require.NotEmpty(t, alerts)
	for _, a := range alerts {
		require.Regexp(t, `alertname: `+a[1]+`\n\s+exp_alerts:\n\s+- exp_labels`, string(tests),
			"alert %s has a test where it fires", a[1])
	}
}

// ruleExprs returns the rules' expr values, inline or folded blocks
// (">-" and the lines indented under it).
func ruleExprs(rules string) []string {
	var exprs []string
	lines := strings.Split(rules, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		v, ok := strings.CutPrefix(l, "expr:")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if v != ">-" && v != "|" && v != ">" {
			exprs = append(exprs, v)
			continue
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		var block []string
		for i+1 < len(lines) && len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent {
			i++
			block = append(block, strings.TrimSpace(lines[i]))
		}
		exprs = append(exprs, strings.Join(block, " "))
	}
	return exprs
}

// chronyExporterMetrics are the chrony_exporter series the rules and the
// dashboard may use (SuperQ/chrony_exporter collector/sources.go).
var chronyExporterMetrics = []string{
	"chrony_sources_last_sample_offset_seconds",
	"chrony_sources_last_sample_age_seconds",
	"chrony_sources_last_sample_error_margin_seconds",
	"chrony_sources_state_info",
	"chrony_sources_stratum",
}

var metricName = regexp.MustCompile(`\b(?:ntp_optimizer|chrony)_[a-z0-9_]+`)

// checkMetricNames fails for a metric name in text that nothing exports.
func checkMetricNames(t *testing.T, what, text string) {
	t.Helper()
	exported := exportedMetrics(t)
	names := metricName.FindAllString(text, -1)
	require.NotEmpty(t, names, what)
	for _, n := range names {
		if strings.HasPrefix(n, "chrony_") {
			require.Contains(t, chronyExporterMetrics, n, "%s: %s is not a chrony_exporter metric", what, n)
			continue
		}
		require.Contains(t, exported, n, "%s: %s is not written by metrics.Write", what, n)
	}
}

// exportedMetrics are the metric names metrics.Write writes for a
// representative run: every kind of server and every run-level family.
func exportedMetrics(t *testing.T) []string {
	t.Helper()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r := metrics.Run{
		Servers: []metrics.Server{
			{Name: "time.example.test", Address: "192.0.2.1", Up: true, Score: 94, Offset: 0.0002, Delay: 0.012,
				Jitter: 0.0001, Reach: 1, Stratum: 2, Selected: true, NTS: true, Verdict: "selected"},
			{Name: "dead.example.test", Address: "192.0.2.2", Reach: 0, Offset: math.NaN(), Delay: math.NaN(),
				Jitter: math.NaN(), Verdict: "rejected", ReasonClass: metrics.ReasonNoReply},
			{Name: "liar.example.test", Address: "192.0.2.3", Up: true, Score: 70, Offset: 2.5, Delay: 0.02,
				Jitter: 0.001, Reach: 1, Stratum: 1, Verdict: "rejected", ReasonClass: metrics.ReasonFalseticker},
		},
		SetKnown: true, SetSize: 4, MinSetSize: 3,
		Duration: 40 * time.Second, Success: true, Time: now, LastSuccess: now,
		Totals: metrics.Totals{Changes: 3, Rollbacks: 1, Outages: 1},
	}
	var buf bytes.Buffer
	require.NoError(t, metrics.Write(&buf, r))
	var names []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names = append(names, f[2])
		}
	}
	require.Contains(t, names, "ntp_optimizer_server_offset_seconds")
	slices.Sort(names)
	return names
}
