package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

// TestLogFile: logging.file gets JSON lines appended, whatever the stderr
// format; the directory is created. Rotation is logrotate's
// (deploy/logrotate): a file moved aside is not touched, the next run
// starts a new one.
func TestLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "ntp-optimizer.log")
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer devNull.Close()
	logLine := func(msg string) {
		f, err := openLogFile(path)
		require.NoError(t, err)
		log, err := newLogger(logSetup{Out: logOutput{Stderr: devNull}, File: f, Level: "info", Format: "console",
			Clock: clocktest.NewStepper(time.Date(2041, 7, 1, 0, 10, 0, 0, time.UTC))})
		require.NoError(t, err)
		log.Info().Msg(msg)
		require.NoError(t, f.Close())
	}
	logLine("one")
	logLine("two")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(b), "\n"), "%s", b)
	require.Contains(t, string(b), `{"level":"info","time":"2041-07-01T00:10:00Z","message":"one"}`)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm()&^0o022)

	require.NoError(t, os.Rename(path, path+".1")) // logrotate's create
	logLine("three")
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(b), "\n"), "%s", b)
	b, err = os.ReadFile(path + ".1")
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(b), "\n"), "the rotated file is left alone")
}
