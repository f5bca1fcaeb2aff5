package metrics

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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
			{Name: "time.example.test", Address: "127.0.0.12", Up: true, Score: 94.1, Offset: 0.000234, Delay: 0.0121, Jitter: 0.00011, Reach: 1, Stratum: 1,
				Selected: true, NTS: true, Verdict: "selected"},
			{Name: "nts.example.test", Address: "127.0.0.13", Up: true, Score: 80, Offset: 0.0003, Delay: 0.02, Jitter: 0.0003, Reach: 1, Stratum: 2,
				NTS: true, Verdict: "standby"},
			{Name: "pool \"odd\" name\\", Address: "2001:db8::7", Up: true, Score: 61, Offset: -0.0042, Delay: 0.031, Jitter: 0.002, Reach: 0.75, Stratum: 2,
				Verdict: "rejected", ReasonClass: ReasonScore},
			{Name: "dead.example.test", Address: "127.0.0.99", Score: 0, Offset: math.NaN(), Delay: math.NaN(), Jitter: math.NaN(), Reach: 0,
				Verdict: "rejected", ReasonClass: ReasonNoReply},
			{Name: "liar.example.test", Address: "192.0.2.66", Up: true, Score: 70, Offset: 2.5, Delay: 0.03, Jitter: 0.001, Reach: 1, Stratum: 1,
				Verdict: "rejected", ReasonClass: ReasonFalseticker},
			{Name: "kod.example.test", Address: "192.0.2.67", Up: true, Score: 10, Offset: 0, Delay: 0.03, Jitter: math.NaN(), Reach: 0.25, Stratum: 0,
				Verdict: "rejected", ReasonClass: ReasonKoD},
		},
		SetKnown:    true,
		SetSize:     4,
		MinSetSize:  3,
		Duration:    42*time.Second + 300*time.Millisecond,
		Success:     true,
		Time:        t0,
		LastSuccess: t0,
		Totals:      Totals{Changes: 7, Rollbacks: 2},
		Build:       BuildInfo{Version: "v1.2.0", Commit: "2545fdd0e3c1", GoVersion: "go1.26.8"},
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
	return valueWith(mfs, name, map[string]string{"server": server})
}

// valueWith returns the first sample of family name that has every label
// of want ("" for a label that must be absent), and whether there is one.
func valueWith(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if !match {
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
		{name: "ntp_optimizer_server_stratum", server: "kod.example.test", want: 0},
		{name: "ntp_optimizer_server_jitter_seconds", server: "kod.example.test", absent: true},
		{name: "ntp_optimizer_server_up", server: "time.example.test", want: 1},
		{name: "ntp_optimizer_server_up", server: "dead.example.test", want: 0},
		{name: "ntp_optimizer_server_score", server: "dead.example.test", want: 0},
		{name: "ntp_optimizer_server_delay_seconds", server: "dead.example.test", absent: true},
		{name: "ntp_optimizer_selected_sources", want: 1},
		{name: "ntp_optimizer_set_size", want: 4},
		{name: "ntp_optimizer_min_set_size", want: 3},
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
		{name: "ntp_optimizer_last_run_rolled_back", want: 0},
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
	for _, tc := range []struct {
		name string
		want map[string]string
	}{
		{name: "selected, fails nothing", want: map[string]string{"source_name": "time.example.test", "verdict": "selected", "reason_class": ""}},
		{name: "standby", want: map[string]string{"source_name": "nts.example.test", "verdict": "standby", "reason_class": ""}},
		{name: "never answered", want: map[string]string{"source_address": "127.0.0.99", "verdict": "rejected", "reason_class": "no_reply"}},
		{name: "falseticker", want: map[string]string{"source_address": "192.0.2.66", "verdict": "rejected", "reason_class": "falseticker"}},
		{name: "kiss-o'-death", want: map[string]string{"source_address": "192.0.2.67", "verdict": "rejected", "reason_class": "kod"}},
		{name: "build", want: map[string]string{"version": "v1.2.0", "commit": "2545fdd0e3c1", "goversion": "go1.26.8"}},
	} {
		t.Run("labels/"+tc.name, func(t *testing.T) {
			fam := "ntp_optimizer_server_verdict"
			if tc.name == "build" {
				fam = "ntp_optimizer_build_info"
			}
			v, ok := valueWith(mfs, fam, tc.want)
			require.True(t, ok, "%s%v", fam, tc.want)
			require.Equal(t, 1.0, v)
		})
	}
	// Every per-server series joins chrony_exporter's on source_address
	// and keeps the labels of earlier releases.
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "ntp_optimizer_server_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			require.NotEmpty(t, got["source_address"], name)
			require.Equal(t, got["source_address"], got["address"], name)
			require.Equal(t, got["source_name"], got["server"], name)
		}
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
		{name: "no NTS", run: Run{Duration: time.Second, Time: t0, Success: true, SetKnown: true,
			Servers: []Server{{Name: "plain.example.test", Address: "192.0.2.1", Up: true, Score: 90, Reach: 1, Selected: true, Verdict: "selected"}}}},
		{name: "build from the binary", run: Run{Duration: time.Second, Time: t0}},
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

func TestSetUnknown(t *testing.T) {
	// A run that failed before deciding knows no set: no 0 for the alerts
	// on the set's size to fire on.
	r := sampleRun()
	r.SetKnown = false
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, r))
	mfs := parse(t, buf.Bytes())
	for _, name := range []string{"ntp_optimizer_selected_sources", "ntp_optimizer_selected_nts_sources"} {
		_, ok := mfs[name]
		require.False(t, ok, name)
	}
	require.Contains(t, mfs, "ntp_optimizer_server_selected")
}

func TestBuildInfo(t *testing.T) {
	build := func(r Run) map[string]string {
		var buf bytes.Buffer
		require.NoError(t, Write(&buf, r))
		got := map[string]string{}
		for _, l := range parse(t, buf.Bytes())["ntp_optimizer_build_info"].GetMetric()[0].GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		return got
	}
	got := build(Run{})
	require.Equal(t, runtime.Version(), got["goversion"])
	require.NotEmpty(t, got["version"], "the binary's version or unknown")
	require.NotEmpty(t, got["commit"], "the binary's revision or unknown")

	// File.Build (the command's version stamp) fills what the run leaves
	// empty.
	path := filepath.Join(t.TempDir(), "x.prom")
	require.NoError(t, File{Path: path, Build: BuildInfo{Version: "v9.9.9", Commit: "abc"}}.Write(Run{Build: BuildInfo{Commit: "def"}}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v, ok := valueWith(parse(t, b), "ntp_optimizer_build_info", map[string]string{"version": "v9.9.9", "commit": "def"})
	require.True(t, ok)
	require.Equal(t, 1.0, v)
}
