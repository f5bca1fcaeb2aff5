package chronylive

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

// SourcesFileName is the agent's file in chronyd's sourcedir. chronyd reads
// DIR/*.sources at start and on `reload sources` (chrony.conf(5) sourcedir).
const SourcesFileName = "ntp-optimizer.sources"

// sourcesFileHeader starts every file the agent writes.
const sourcesFileHeader = "# Written by ntp-optimizer: the NTP sources it selected for chronyd.\n" +
	"# Edits are overwritten by the next run; pin servers with `keep` in\n" +
	"# /etc/ntp-optimizer/config.toml instead.\n"

// SourcesFile is the agent's *.sources file in a chronyd sourcedir.
type SourcesFile struct {
	Path string
}

// SourceLine is one `server` line.
type SourceLine struct {
	Address string // an IP literal or hostname, validated before writing
	Port    int    // 0 or 123: chrony's default
	Options string // chrony source options, e.g. "iburst"
}

// renderSources returns the file content for lines. Every line ends in a newline:
// chronyd stops reading at an unterminated line.
func renderSources(lines []SourceLine) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(sourcesFileHeader)
	for _, l := range lines {
		if err := srvname.Validate(l.Address); err != nil {
			return nil, err
		}
		if err := chronyctl.ValidateSourceOptions(l.Options); err != nil {
			return nil, fmt.Errorf("source options %q: %w", l.Options, err)
		}
		fmt.Fprintf(&b, "server %s", l.Address)
		if l.Port != 0 && l.Port != 123 {
			fmt.Fprintf(&b, " port %d", l.Port)
		}
		if l.Options != "" {
			b.WriteString(" " + l.Options)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// Read returns the file's current bytes, or nil if it does not exist.
func (f SourcesFile) Read() ([]byte, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Path, err)
	}
	return b, nil
}

// Write replaces the file atomically with lines; a file that already says
// exactly that is left alone (no rewrite on a run that changes nothing).
func (f SourcesFile) Write(lines []SourceLine) error {
	data, err := renderSources(lines)
	if err != nil {
		return err
	}
	if old, err := f.Read(); err == nil && string(old) == string(data) {
		return nil
	}
	return f.Restore(data)
}

// Restore puts back content read earlier by Read; nil removes the file.
func (f SourcesFile) Restore(data []byte) error {
	if data == nil {
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", f.Path, err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		return fmt.Errorf("sourcedir: %w%s", err, writeHint(err))
	}
	if err := renameio.WriteFile(f.Path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w%s", f.Path, err, writeHint(err))
	}
	return nil
}

// writeHint says what usually causes a write error in a sourcedir.
func writeHint(err error) string {
	switch {
	case errors.Is(err, syscall.EROFS):
		return " (the sourcedir is on a read-only file system)"
	case errors.Is(err, syscall.EPERM):
		return " (the sourcedir or the file is immutable? see lsattr)"
	case errors.Is(err, syscall.EACCES):
		return " (permission denied: the agent changes chronyd as root)"
	}
	return ""
}
