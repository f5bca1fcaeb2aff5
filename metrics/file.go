package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
)

// ErrFileName is returned for a metrics file whose name the textfile
// collector would ignore.
var ErrFileName = errors.New("metrics file name must end in .prom")

// WriteFile writes r to path atomically with mode 0644 whatever the umask
// (node_exporter runs as another user), for the textfile
// collector. path must end in ".prom" and its directory must exist.
func WriteFile(path string, r Run) error {
	if !strings.HasSuffix(filepath.Base(path), ".prom") || filepath.Base(path) == ".prom" {
		return fmt.Errorf("%w: %q", ErrFileName, path)
	}
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		return err
	}
	if err := renameio.WriteFile(path, buf.Bytes(), 0o644, renameio.WithStaticPermissions(0o644)); err != nil {
		return fmt.Errorf("writing metrics file: %w", err)
	}
	return nil
}

// File is the textfile collector's file of one machine (paths.metrics_file).
type File struct {
	Path string
	// Build describes the binary (the command's version stamp); it fills
	// the fields a run's own Build leaves empty.
	Build BuildInfo
}

// Write writes r to the file (see WriteFile).
func (f File) Write(r Run) error {
	r.Build = r.Build.or(f.Build)
	return WriteFile(f.Path, r)
}
