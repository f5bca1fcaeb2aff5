package metrics

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 500_000_000, time.UTC)

func sampleRun() Run {
	return Run{
		Servers: []Server{
			{Name: "time.example.test", Address: "127.0.0.12", Score: 94.1, Offset: 0.000234, Delay: 0.0121, Jitter: 0.00011, Reach: 1, Stratum: 1, Selected: true, NTS: true},
			{Name: "nts.example.test", Address: "127.0.0.13", Score: 80, Offset: 0.0003, Delay: 0.02, Jitter: 0.0003, Reach: 1, Stratum: 2, NTS: true},
			{Name: "pool \"odd\" name\\", Address: "2001:db8::7", Score: 61, Offset: -0.0042, Delay: 0.031, Jitter: 0.002, Reach: 0.75, Stratum: 2},
			{Name: "dead.example.test", Address: "127.0.0.99", Score: 0, Offset: math.NaN(), Delay: math.NaN(), Jitter: math.NaN(), Reach: 0},
		},
		Duration:    42*time.Second + 300*time.Millisecond,
		Success:     true,
		Time:        t0,
		LastSuccess: t0,
		Totals:      Totals{Changes: 7, Rollbacks: 2},
	}
}

func parse(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(b))
	require.NoError(t, err)
	return mfs
}

// value returns the sample of family name whose server label is server
// ("" for unlabelled), and whether it exists.
func value(mfs map[string]*dto.MetricFamily, name, server string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == "server" {
				got = l.GetValue()
			}
		}
		if got != server {
			continue
		}
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func TestWriteParsesBack(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, sampleRun()))
	mfs := parse(t, buf.Bytes())

	for _, tc := range []struct {
		name, server string
		want         float64
		absent       bool
	}{
		{name: "ntp_optimizer_server_score", server: "time.example.test", want: 94.1},
		{name: "ntp_optimizer_server_offset_seconds", server: "time.example.test", want: 0.000234},
		{name: "ntp_optimizer_server_offset_seconds", server: "pool \"odd\" name\\", want: -0.0042},
		{name: "ntp_optimizer_server_delay_seconds", server: "time.example.test", want: 0.0121},
		{name: "ntp_optimizer_server_jitter_seconds", server: "time.example.test", want: 0.00011},
		{name: "ntp_optimizer_server_reach_ratio", server: "pool \"odd\" name\\", want: 0.75},
		{name: "ntp_optimizer_server_stratum", server: "pool \"odd\" name\\", want: 2},
		{name: "ntp_optimizer_server_selected", server: "time.example.test", want: 1},
		{name: "ntp_optimizer_server_selected", server: "dead.example.test", want: 0},
		{name: "ntp_optimizer_server_reach_ratio", server: "dead.example.test", want: 0},
		{name: "ntp_optimizer_server_offset_seconds", server: "dead.example.test", absent: true},
		{name: "ntp_optimizer_server_stratum", server: "dead.example.test", absent: true},
		{name: "ntp_optimizer_server_nts", server: "time.example.test", want: 1},
		{name: "ntp_optimizer_server_nts", server: "nts.example.test", want: 1},
		{name: "ntp_optimizer_server_nts", server: "pool \"odd\" name\\", want: 0},
		{name: "ntp_optimizer_server_nts", server: "dead.example.test", want: 0},
		{name: "ntp_optimizer_selected_nts_sources", want: 1},
		{name: "ntp_optimizer_run_duration_seconds", want: 42.3},
		{name: "ntp_optimizer_last_run_success", want: 1},
		{name: "ntp_optimizer_last_run_timestamp_seconds", want: 1773480413.5},
		{name: "ntp_optimizer_last_success_timestamp_seconds", want: 1773480413.5},
		{name: "ntp_optimizer_changes_total", want: 7},
		{name: "ntp_optimizer_rollbacks_total", want: 2},
	} {
		t.Run(tc.name+"/"+tc.server, func(t *testing.T) {
			v, ok := value(mfs, tc.name, tc.server)
			if tc.absent {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.InDelta(t, tc.want, v, 1e-9)
		})
	}
	require.Equal(t, dto.MetricType_COUNTER, mfs["ntp_optimizer_changes_total"].GetType())
	require.Equal(t, dto.MetricType_GAUGE, mfs["ntp_optimizer_server_score"].GetType())
	require.NotContains(t, buf.String(), "NaN")
}

func TestPromtoolCheck(t *testing.T) {
	promtool := testtool.Need(t, "promtool", "prometheus")
	for _, tc := range []struct {
		name string
		run  Run
	}{
		{name: "full", run: sampleRun()},
		{name: "first run failed", run: Run{Duration: time.Second, Time: t0}},
		{name: "no NTS", run: Run{Duration: time.Second, Time: t0, Success: true,
			Servers: []Server{{Name: "plain.example.test", Address: "192.0.2.1", Score: 90, Reach: 1, Selected: true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, tc.run))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
			cmd.Stdin = &buf
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "promtool check metrics:\n%s", out)
			require.Empty(t, string(out), "promtool lint findings")
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ntp_optimizer.prom")
	require.NoError(t, WriteFile(path, sampleRun()))
	r := sampleRun()
	r.Totals = r.Totals.Add(true, false)
	require.NoError(t, WriteFile(path, r))

	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v, ok := value(parse(t, b), "ntp_optimizer_changes_total", "")
	require.True(t, ok)
	require.Equal(t, 8.0, v)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp file left behind")

	// A run that cannot be encoded leaves the previous file alone.
	bad := sampleRun()
	bad.Servers = append(bad.Servers, bad.Servers[0])
	require.ErrorContains(t, WriteFile(path, bad), "listed twice")
	bad = sampleRun()
	bad.Servers[0].Name = "bad\xff"
	require.Error(t, WriteFile(path, bad))
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, b, after)

	for _, name := range []string{"metrics.txt", ".prom", "x.prom.tmp"} {
		require.ErrorIs(t, WriteFile(filepath.Join(dir, name), sampleRun()), ErrFileName, name)
	}
	require.Error(t, WriteFile(filepath.Join(dir, "missing", "x.prom"), sampleRun()))
}

func TestTotalsAdd(t *testing.T) {
	var tot Totals
	tot = tot.Add(true, false)
	tot = tot.Add(true, true)
	tot = tot.Add(false, false)
	require.Equal(t, Totals{Changes: 2, Rollbacks: 1}, tot)
}
