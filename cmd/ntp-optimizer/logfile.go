package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// openLogFile opens path for appending JSON log lines (logging.file, for
// machines without journald). Rotating it is logrotate's job, as for every
// other log in /var/log: the package ships /etc/logrotate.d/ntp-optimizer
// (deploy/logrotate/ntp-optimizer). The agent runs as a short-lived
// process that opens the file at start, so logrotate needs neither
// copytruncate nor a signal: the next run opens the new file.
func openLogFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}
