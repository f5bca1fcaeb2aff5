package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
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

// representativeRun has every kind of server (selected with NTS, silent,
// a rejected falseticker) and every run-level figure.
func representativeRun() metrics.Run {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return metrics.Run{
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
}

// exportedMetrics are the metric names metrics.Write writes for a
// representative run: every kind of server and every run-level family.
func exportedMetrics(t *testing.T) []string {
	t.Helper()
	r := representativeRun()
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

// TestPrometheusEndToEnd: a real Prometheus scrapes a real node_exporter
// serving a written metrics file, loads the rules, and then every rule is
// healthy, the alert the file calls for fires, and every dashboard query
// returns data.
func TestPrometheusEndToEnd(t *testing.T) {
	prom := testtool.Need(t, "prometheus", "prometheus")
	ne := testtool.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	root := repoRoot(t)
	dir := t.TempDir()
	textfiles := filepath.Join(dir, "textfile")
	require.NoError(t, os.Mkdir(textfiles, 0o755))
	r := representativeRun()
	// One selected server of min_set_size 3: NTPOptimizerSetBelowMinimum.
	require.NoError(t, metrics.WriteFile(filepath.Join(textfiles, "ntp_optimizer.prom"), r))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	neAddr := freeAddr(t)
	start(t, ctx, ne, "--web.listen-address="+neAddr, "--collector.disable-defaults",
		"--collector.textfile", "--collector.textfile.directory="+textfiles)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: node
    static_configs: [{targets: [%q]}]
`, filepath.Join(root, "deploy", "prometheus", "ntp-optimizer.rules.yml"), neAddr)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	promAddr := freeAddr(t)
	start(t, ctx, prom, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)

	api := func(path string, params url.Values, out any) error {
		resp, err := http.Get("http://" + promAddr + path + "?" + params.Encode())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s: %s", path, resp.Status, b)
		}
		return json.Unmarshal(b, out)
	}
	type vector struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	query := func(q string) (int, error) {
		var v vector
		err := api("/api/v1/query", url.Values{"query": {q}}, &v)
		return len(v.Data.Result), err
	}
	require.Eventually(t, func() bool {
		n, err := query(`up{job="node"} == 1 and on (instance) ntp_optimizer_build_info`)
		return err == nil && n == 1
	}, time.Minute, 200*time.Millisecond, "Prometheus scrapes node_exporter's textfile")

	// The rules: all healthy, and the one the file calls for fires.
	require.Eventually(t, func() bool {
		var alerts struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		if api("/api/v1/alerts", nil, &alerts) != nil {
			return false
		}
		for _, a := range alerts.Data.Alerts {
			if a.Labels["alertname"] == "NTPOptimizerSetBelowMinimum" && a.State == "firing" {
				return true
			}
		}
		return false
	}, 30*time.Second, 200*time.Millisecond)
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Health, LastError string
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	require.NoError(t, api("/api/v1/rules", nil, &rules))
	require.Len(t, rules.Data.Groups, 1)
	for _, rule := range rules.Data.Groups[0].Rules {
		require.Equal(t, "ok", rule.Health, "%s: %s", rule.Name, rule.LastError)
	}

	// Every dashboard query has data for this file.
	for _, q := range dashboardQueries(t) {
		n, err := query(q)
		require.NoError(t, err, q)
		require.Positive(t, n, "no data for %s", q)
	}
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// start runs a server for the rest of the test; its output is logged if
// the test fails.
func start(t *testing.T, ctx context.Context, name string, args ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", filepath.Base(name), out.String())
		}
	})
}
