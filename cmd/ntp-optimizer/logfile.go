package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// rotatedFormat suffixes a log file rotated away on a new day.
const rotatedFormat = "20060102"

// openLogFile opens path for appending JSON log lines (logging.file, for
// machines without journald). Once a day it moves the file aside to
// PATH.YYYYMMDD (the day of its last line) and deletes rotated files older
// than retentionDays. The agent runs as a short-lived process, so rotating
// at open is enough.
func openLogFile(path string, retentionDays int, now time.Time) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		day := fi.ModTime().Local().Format(rotatedFormat)
		if day != now.Local().Format(rotatedFormat) {
			if err := os.Rename(path, path+"."+day); err != nil {
				return nil, fmt.Errorf("log file: rotating %s: %w", path, err)
			}
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("log file: %w", err)
	}
	pruneLogs(path, retentionDays, now)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// pruneLogs removes PATH.YYYYMMDD files older than retentionDays.
func pruneLogs(path string, retentionDays int, now time.Time) {
	matches, _ := filepath.Glob(path + ".*")
	cutoff := now.AddDate(0, 0, -retentionDays)
	for _, m := range matches {
		day, err := time.ParseInLocation(rotatedFormat, strings.TrimPrefix(m, path+"."), time.Local)
		if err == nil && day.Before(cutoff) {
			_ = os.Remove(m)
		}
	}
}
