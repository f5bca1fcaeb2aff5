package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// rotatedFormat suffixes a log file rotated away on a new day.
const rotatedFormat = "20060102"

// tailBytes is how much of the end of a log file is read to find its last
// line's time: far more than one log line.
const tailBytes = 64 << 10

// openLogFile opens path for appending JSON log lines (logging.file, for
// machines without journald). Once a day it moves the file aside to
// PATH.YYYYMMDD, the local day of its last line's "time", and deletes
// rotated files older than retentionDays. now is the time on the clock the
// log lines are stamped with, so the file's day and today come from one
// clock (not the file system's mtime). The agent runs as a short-lived
// process, so rotating at open is enough.
func openLogFile(path string, retentionDays int, now time.Time) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	last, err := lastLineTime(path)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	if day := last.In(now.Location()).Format(rotatedFormat); !last.IsZero() && day != now.Format(rotatedFormat) {
		if err := os.Rename(path, path+"."+day); err != nil {
			return nil, fmt.Errorf("log file: rotating %s: %w", path, err)
		}
	}
	pruneLogs(path, retentionDays, now)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// lastLineTime returns the "time" of the last line of the log file that
// has one; zero when the file is missing, empty or has no such line (then
// it is not rotated: nothing says which day it belongs to).
func lastLineTime(path string) (time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	off := max(0, fi.Size()-tailBytes)
	tail := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(tail, off); err != nil && !errors.Is(err, io.EOF) {
		return time.Time{}, err
	}
	lines := bytes.Split(tail, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		var line map[string]any
		if json.Unmarshal(bytes.TrimSpace(lines[i]), &line) != nil {
			continue // not JSON, or the first line cut by the tail
		}
		s, _ := line[zerolog.TimestampFieldName].(string)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, nil
}

// pruneLogs removes PATH.YYYYMMDD files older than retentionDays.
func pruneLogs(path string, retentionDays int, now time.Time) {
	matches, _ := filepath.Glob(path + ".*")
	cutoff := now.AddDate(0, 0, -retentionDays)
	for _, m := range matches {
		day, err := time.ParseInLocation(rotatedFormat, strings.TrimPrefix(m, path+"."), now.Location())
		if err == nil && day.Before(cutoff) {
			_ = os.Remove(m)
		}
	}
}
