package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

// runApp runs the CLI with args and returns stdout and the exit code.
func runApp(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"ntp-optimizer", "--log-level", "error"}, args...))
	if err != nil {
		errOut.WriteString(err.Error())
	}
	code := 0
	if err != nil {
		f, _ := os.CreateTemp(t.TempDir(), "err")
		code = exitCode(err, f)
	}
	return out.String(), errOut.String(), code
}

func TestProbeAgainstLab(t *testing.T) {
	lab := labtest.Start(t, labtest.Scenario(t, "probe-cmd",
		ntplab.Profile{Name: "good", Stratum: 1, Offset: 3 * time.Millisecond, Delay: time.Millisecond, Jitter: 100 * time.Microsecond},
		ntplab.Profile{Name: "noisy", Stratum: 2, Offset: -time.Millisecond, Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond},
		ntplab.Profile{Name: "kod", KoD: "DENY", Delay: time.Millisecond},
		ntplab.Profile{Name: "dead", Silent: true},
	))
	addr := func(name string) string { return lab.Server(name).Addr().Addr().String() }
	port := fmt.Sprint(lab.Server("good").Addr().Port())
	file := filepath.Join(t.TempDir(), "servers")
	require.NoError(t, os.WriteFile(file, []byte("# lab servers\n"+addr("noisy")+"  # the noisy one\n\n"+addr("kod")+"\n"), 0o600))
	base := []string{"probe", "--port", port, "--spacing", "50ms", "--samples", "4", "--servers-file", file}

	t.Run("json", func(t *testing.T) {
		out, errOut, code := runApp(t, append(base, "--json", addr("good"), addr("dead"))...)
		require.Zero(t, code, errOut)
		var rows []map[string]any
		jsonList(t, out, "probe", "candidates", &rows)
		require.Len(t, rows, 4)
		for _, k := range []string{"server", "address", "port", "offset_s", "delay_s", "jitter_s", "stratum", "refid",
			"leap", "root_distance_s", "reach", "samples_sent", "samples_ok", "kod", "unsynchronized",
			"score", "verdict", "reason"} {
			require.Contains(t, rows[0], k)
		}
		byServer := map[string]map[string]any{}
		for _, r := range rows {
			byServer[r["server"].(string)] = r
		}
		good := byServer[addr("good")]
		require.Equal(t, rows[0], good, "lowest jitter first")
		require.InDelta(t, 0.003, good["offset_s"], 0.0005)
		require.EqualValues(t, 1, good["reach"])
		require.EqualValues(t, 4, good["samples_ok"])
		require.EqualValues(t, 1, good["stratum"])
		require.Equal(t, "selected", good["verdict"])
		require.Greater(t, good["score"], 90.0)
		require.Equal(t, "DENY", byServer[addr("kod")]["kod"])
		require.Equal(t, "rejected", byServer[addr("kod")]["verdict"])
		require.Contains(t, byServer[addr("kod")]["reason"], "DENY")
		require.EqualValues(t, 1, byServer[addr("kod")]["samples_sent"])
		require.Equal(t, rows[3], byServer[addr("dead")], "unreachable last")
		require.Nil(t, byServer[addr("dead")]["offset_s"])
		require.EqualValues(t, 0, byServer[addr("dead")]["reach"])
	})
	t.Run("table", func(t *testing.T) {
		out, errOut, code := runApp(t, append(base, addr("good"))...)
		require.Zero(t, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 4, out)
		require.Equal(t, []string{"Rank", "Server", "Address", "Auth", "Offset(ms)", "Delay(ms)", "Jitter(ms)", "Stratum", "Reach(%)", "Score", "Verdict", "Reason"}, strings.Fields(lines[0]))
		require.Equal(t, []string{"1", addr("good"), addr("good"), "-"}, strings.Fields(lines[1])[:4], "a plain server's Auth is -")
		require.Contains(t, lines[1], "selected")
		require.Contains(t, lines[3], "rejected")
		require.Contains(t, lines[3], "DENY")
	})
}

func TestProbeBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("ok.example\n\nbad name here\n"), 0o600))
	inj := filepath.Join(dir, "inj")
	require.NoError(t, os.WriteFile(inj, []byte("ok.example\nevil;rm\n"), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no servers", []string{"probe"}, "no servers"},
		{"bad argument", []string{"probe", "bad\nname"}, "invalid server name"},
		{"two per line", []string{"probe", "--servers-file", bad}, bad + ":3: bad server entry \"bad\": one server per line"},
		{"bad name in file", []string{"probe", "--servers-file", inj}, inj + ":2: invalid server name"},
		{"missing file", []string{"probe", "--servers-file", filepath.Join(dir, "nope")}, "no such file"},
		{"too many samples", []string{"probe", "--samples", "9", "x.example"}, "testing.samples_per_server = 9 (from flag --samples): must be between 1 and 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runApp(t, tc.args...)
			require.Equal(t, exitUsage, code)
			require.Contains(t, errOut, tc.want)
		})
	}
}
