package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLogFileRotationAndRetention(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "ntp-optimizer.log")
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.Local)

	f, err := openLogFile(path, 30, now)
	require.NoError(t, err)
	_, _ = f.WriteString("{\"day\":1}\n")
	require.NoError(t, f.Close())
	yesterday := now.AddDate(0, 0, -1)
	require.NoError(t, os.Chtimes(path, yesterday, yesterday))
	old := path + "." + now.AddDate(0, 0, -31).Format(rotatedFormat)
	kept := path + "." + now.AddDate(0, 0, -29).Format(rotatedFormat)
	require.NoError(t, os.WriteFile(old, []byte("old\n"), 0o640))
	require.NoError(t, os.WriteFile(kept, []byte("kept\n"), 0o640))

	f, err = openLogFile(path, 30, now)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	rotated, err := os.ReadFile(path + "." + yesterday.Format(rotatedFormat))
	require.NoError(t, err, "yesterday's file moved aside")
	require.Equal(t, "{\"day\":1}\n", string(rotated))
	_, err = os.Stat(old)
	require.True(t, os.IsNotExist(err), "older than 30 days: removed")
	_, err = os.Stat(kept)
	require.NoError(t, err, "within 30 days: kept")

	// Same day: appended, not rotated.
	f, err = openLogFile(path, 30, now)
	require.NoError(t, err)
	_, _ = f.WriteString("{\"day\":2}\n")
	require.NoError(t, f.Close())
	f, err = openLogFile(path, 30, now)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{\"day\":2}\n", string(b))
}
