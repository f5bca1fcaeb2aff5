package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

// TestApplyNTPDDryRun drives the ntpd backend through apply: the decision
// is the same as on chronyd, --dry-run prints the unified diff of ntp.conf,
// and the file is not touched.
func TestApplyNTPDDryRun(t *testing.T) {
	lab := labtest.StartWith(t, labtest.Scenario(t, "ntpd-dry-run", demoProfiles()[:4]...), ntplab.Options{Spread: true})
	dir := t.TempDir()
	conf := filepath.Join(dir, "ntp.conf")
	orig := "driftfile /var/lib/ntpsec/ntp.drift\nserver 127.0.0.1 iburst\nrestrict default kod nomodify nopeer noquery limited\n"
	require.NoError(t, os.WriteFile(conf, []byte(orig), 0o644))
	servers := filepath.Join(dir, "servers")
	var list strings.Builder
	for _, s := range lab.Servers() {
		list.WriteString(s.Addr().String() + "\n")
	}
	require.NoError(t, os.WriteFile(servers, []byte(list.String()), 0o644))

	out, stderr, code := runSerial(t, "apply", "--json", "--dry-run", "--backend", "ntpd", "--ntp-conf", conf,
		"--state-dir", filepath.Join(dir, "state"), "--servers-file", servers, "--no-discovery", "--spacing", "100ms")
	require.Zero(t, code, stderr)
	var r agent.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Equal(t, "ntpd", r.Backend)
	require.Equal(t, agent.OutcomeDryRun, r.Outcome)
	require.Len(t, r.Selected, 4)
	require.Contains(t, r.Diff, "+# BEGIN ntp-optimizer")
	for _, a := range r.Selected {
		require.Contains(t, r.Diff, "+server "+a+" iburst")
	}
	require.Contains(t, r.Diff, "-server 127.0.0.1 iburst", "converge comments out the old server")
	after, err := os.ReadFile(conf)
	require.NoError(t, err)
	require.Equal(t, orig, string(after), "dry run: file untouched")
	_, err = os.Stat(filepath.Join(dir, "state"))
	require.True(t, os.IsNotExist(err), "dry run: no state written")
}
