package metrics

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/testtool"
)

// TestNodeExporterTextfile serves a written file through a real
// node_exporter's textfile collector: it parses it without error and
// exposes the series as written.
func TestNodeExporterTextfile(t *testing.T) {
	ne := testtool.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	dir := t.TempDir()
	require.NoError(t, WriteFile(filepath.Join(dir, "ntp_optimizer.prom"), sampleRun()))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, ne, "--web.listen-address="+addr, "--collector.disable-defaults",
		"--collector.textfile", "--collector.textfile.directory="+dir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	var body []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == http.StatusOK
	}, 20*time.Second, 100*time.Millisecond, "node_exporter on %s:\n%s", addr, &logs)

	mfs := parse(t, body)
	v, ok := value(mfs, "node_textfile_scrape_error", "")
	require.True(t, ok, "node_exporter reports its textfile scrape")
	require.Zero(t, v, "node_exporter parsed the file:\n%s", &logs)
	for _, tc := range []struct {
		name string
		want map[string]string
		val  float64
	}{
		{name: "ntp_optimizer_server_offset_seconds", want: map[string]string{"source_address": "2001:db8::7", "address": "2001:db8::7"}, val: -0.0042},
		{name: "ntp_optimizer_server_up", want: map[string]string{"source_name": "dead.example.test"}, val: 0},
		{name: "ntp_optimizer_server_verdict", want: map[string]string{"source_address": "192.0.2.66", "verdict": "rejected", "reason_class": "falseticker"}, val: 1},
		{name: "ntp_optimizer_server_stratum", want: map[string]string{"source_name": "kod.example.test"}, val: 0},
		{name: "ntp_optimizer_build_info", want: map[string]string{"version": "v1.2.0"}, val: 1},
		{name: "ntp_optimizer_min_set_size", want: map[string]string{}, val: 3},
	} {
		got, ok := valueWith(mfs, tc.name, tc.want)
		require.True(t, ok, "%s%v", tc.name, tc.want)
		require.InDelta(t, tc.val, got, 1e-12, tc.name)
	}
}
