package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"

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
	Options string // chrony source options, e.g. "iburst"
}

// Render returns the file content for lines. Every line ends in a newline:
// chronyd stops reading at an unterminated line.
func renderSources(lines []SourceLine) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(sourcesFileHeader)
	for _, l := range lines {
		if err := srvname.Validate(l.Address); err != nil {
			return nil, err
		}
		if err := validateSourceOptions(l.Options); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "server %s", l.Address)
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

// Write replaces the file atomically with lines.
func (f SourcesFile) Write(lines []SourceLine) error {
	data, err := renderSources(lines)
	if err != nil {
		return err
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
		return fmt.Errorf("sourcedir: %w", err)
	}
	if err := renameio.WriteFile(f.Path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// chronyOptions are the `server` options (chrony.conf(5)) the agent accepts
// in its source options; the ones taking a value map to true.
var chronyOptions = map[string]bool{
	"iburst": false, "burst": false, "prefer": false, "noselect": false,
	"trust": false, "require": false, "xleave": false, "nts": false,
	"auto_offline": false, "offline": false, "copy": false,
	"minpoll": true, "maxpoll": true, "polltarget": true, "presend": true,
	"minstratum": true, "maxdelay": true, "maxdelayratio": true,
	"maxdelaydevratio": true, "mindelay": true, "asymmetry": true,
	"offset": true, "minsamples": true, "maxsamples": true, "filter": true,
	"version": true, "port": true, "ntsport": true, "key": true,
	"certset": true, "extfield": true, "maxdelayquant": true,
}

// validateSourceOptions accepts a space-separated list of chrony source
// options with their values; anything else (a newline, '#', an unknown
// word) is rejected so it cannot change the meaning of the file.
func validateSourceOptions(opts string) error {
	fields := strings.Fields(opts)
	if strings.ContainsAny(opts, "\n\r#\x00") {
		return fmt.Errorf("source options %q: contains a newline, NUL or '#'", opts)
	}
	for i := 0; i < len(fields); i++ {
		takesValue, ok := chronyOptions[fields[i]]
		if !ok {
			return fmt.Errorf("source options %q: unknown chrony option %q", opts, fields[i])
		}
		if takesValue {
			i++
			if i == len(fields) || !isOptionValue(fields[i]) {
				return fmt.Errorf("source options %q: %s needs a value", opts, fields[i-1])
			}
		}
	}
	return nil
}

func isOptionValue(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("-+.e", r)) {
			return false
		}
	}
	return s != ""
}
