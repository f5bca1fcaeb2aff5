package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// logrotateSnippet is the file the package installs as
// /etc/logrotate.d/ntp-optimizer.
const logrotateSnippet = "logrotate/ntp-optimizer"

// needLogrotate returns logrotate's path; without it the test skips
// locally and fails with CI=true (scripts/test-deps.sh installs it).
func needLogrotate(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"logrotate", "/usr/sbin/logrotate"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("logrotate is missing (scripts/test-deps.sh installs Debian's logrotate)")
	}
	t.Skip("logrotate is missing: apt-get install logrotate")
	return ""
}

// TestLogrotateSnippet: the conventions (daily, 30 kept, compressed, no
// error for a missing or empty file) for the directory the unit gives the
// service (LogsDirectory=) and the example's logging.file lives in.
func TestLogrotateSnippet(t *testing.T) {
	b, err := os.ReadFile(logrotateSnippet)
	require.NoError(t, err)
	var directives []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			directives = append(directives, line)
		}
	}
	require.Equal(t, []string{"/var/log/ntp-optimizer/*.log {", "daily", "rotate 30", "compress", "delaycompress",
		"missingok", "notifempty", "create 0640", "}"}, directives)

	unit, err := os.ReadFile("systemd/ntp-optimizer.service")
	require.NoError(t, err)
	require.Contains(t, string(unit), "\nLogsDirectory=ntp-optimizer\n")
	example, err := os.ReadFile("config.example.toml")
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`(?m)^#file = "/var/log/ntp-optimizer/[^/"]+\.log"$`), string(example))
}

// TestLogrotateValidates: logrotate -d (debug: parse, rotate nothing)
// accepts the snippet as it is installed.
func TestLogrotateValidates(t *testing.T) {
	logrotate := needLogrotate(t)
	dir := t.TempDir()
	out, err := runErr(".", nil, 30*time.Second, logrotate, "-d", "-s", filepath.Join(dir, "state"), logrotateSnippet)
	require.NoError(t, err, "%s", out)
	require.NotContains(t, strings.ToLower(out), "error", out)
	require.Contains(t, out, "/var/log/ntp-optimizer/*.log")
}

// TestLogrotateRotates runs the snippet for real on a copy pointed at a
// temporary directory: the file moves to .1, a new one is created 0640
// for the next run to append to, and a rotation later .1 is .2.gz.
func TestLogrotateRotates(t *testing.T) {
	logrotate := needLogrotate(t)
	dir := t.TempDir()
	logs := filepath.Join(dir, "log")
	require.NoError(t, os.Mkdir(logs, 0o750))
	b, err := os.ReadFile(logrotateSnippet)
	require.NoError(t, err)
	conf := filepath.Join(dir, "ntp-optimizer")
	require.NoError(t, os.WriteFile(conf, []byte(strings.Replace(string(b), "/var/log/ntp-optimizer/", logs+"/", 1)), 0o644))
	log := filepath.Join(logs, "ntp-optimizer.log")
	rotate := func() {
		t.Helper()
		out, err := runErr(dir, nil, 30*time.Second, logrotate, "-v", "-f", "-s", filepath.Join(dir, "state"), conf)
		require.NoError(t, err, "%s", out)
		require.NotContains(t, strings.ToLower(out), "error:", out)
	}
	appendLine := func(s string) {
		t.Helper()
		f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640) // as openLogFile does
		require.NoError(t, err)
		_, err = f.WriteString(s + "\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}

	appendLine(`{"message":"day 1"}`)
	rotate()
	got, err := os.ReadFile(log + ".1")
	require.NoError(t, err)
	require.Equal(t, "{\"message\":\"day 1\"}\n", string(got), "delaycompress: .1 is plain")
	fi, err := os.Stat(log)
	require.NoError(t, err, "create: a new file for the next run")
	require.Zero(t, fi.Size())
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	rotate() // empty: notifempty leaves it
	_, err = os.Stat(log + ".2.gz")
	require.ErrorIs(t, err, os.ErrNotExist)

	appendLine(`{"message":"day 2"}`)
	rotate()
	got, err = os.ReadFile(log + ".1")
	require.NoError(t, err)
	require.Equal(t, "{\"message\":\"day 2\"}\n", string(got))
	_, err = os.Stat(log + ".2.gz")
	require.NoError(t, err, "the older one compressed")

	require.NoError(t, os.RemoveAll(logs))
	require.NoError(t, os.Mkdir(logs, 0o750))
	rotate() // missingok: no file, no error
}
