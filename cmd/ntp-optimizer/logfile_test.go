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

// TestLogFileRotationAndRetention runs on a clock years away from the real
// date (the files' mtimes), in a zone far from UTC, so the rotation can
// only pass if it reads days from the lines' own times.
func TestLogFileRotationAndRetention(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"past, east of UTC", time.Date(2019, 3, 30, 23, 30, 0, 0, time.FixedZone("UTC+14", 14*3600))},
		{"future, west of UTC", time.Date(2041, 7, 1, 0, 10, 0, 0, time.FixedZone("UTC-10", -10*3600))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktest.NewStepper(tc.now)
			dir := t.TempDir()
			path := filepath.Join(dir, "logs", "ntp-optimizer.log")
			devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			require.NoError(t, err)
			defer devNull.Close()
			logLine := func(msg string) {
				f, err := openLogFile(path, 30, clock.Now())
				require.NoError(t, err)
				log, err := newLogger(devNull, f, "info", "json", clock)
				require.NoError(t, err)
				log.Info().Msg(msg)
				require.NoError(t, f.Close())
			}

			logLine("day 1")
			old := path + "." + clock.Now().AddDate(0, 0, -31).Format(rotatedFormat)
			kept := path + "." + clock.Now().AddDate(0, 0, -27).Format(rotatedFormat)
			require.NoError(t, os.WriteFile(old, []byte("old\n"), 0o640))
			require.NoError(t, os.WriteFile(kept, []byte("kept\n"), 0o640))
			day1 := clock.Now().Format(rotatedFormat)

			// Later the same local day: appended, not rotated.
			clock.Advance(20 * time.Minute)
			logLine("day 1, later")
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, 2, strings.Count(string(b), "\n"), "%s", b)

			// The next local day: day 1's file moves aside, old files go.
			clock.Advance(24 * time.Hour)
			logLine("day 2")
			rotated, err := os.ReadFile(path + "." + day1)
			require.NoError(t, err, "the previous day's file moved aside")
			require.Contains(t, string(rotated), `"message":"day 1"`)
			require.Contains(t, string(rotated), `"message":"day 1, later"`)
			b, err = os.ReadFile(path)
			require.NoError(t, err)
			require.Contains(t, string(b), `"message":"day 2"`)
			require.Equal(t, 1, strings.Count(string(b), "\n"))
			_, err = os.Stat(old)
			require.True(t, os.IsNotExist(err), "older than 30 days: removed")
			_, err = os.Stat(kept)
			require.NoError(t, err, "within 30 days: kept")
		})
	}
}

// TestLogFileWithoutTimes: a file whose lines carry no time (not written
// by ntp-optimizer, or cut short) is appended to, never rotated by guess.
func TestLogFileWithoutTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ntp-optimizer.log")
	require.NoError(t, os.WriteFile(path, []byte("plain text\n{\"level\":\"info\"}\n{\"time\":"), 0o640))
	f, err := openLogFile(path, 30, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	matches, _ := filepath.Glob(path + ".*")
	require.Empty(t, matches)
}
