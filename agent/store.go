package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// DefaultStateDir is where the agent keeps its state unless told otherwise.
const DefaultStateDir = "/var/lib/ntp-optimizer"

// State file names inside the state directory.
const (
	stateFile    = "state.json"         // hysteresis counters, blacklist, managed sources
	decisionFile = "last-decision.json" // the last run's decision document
	historyDir   = "history"            // one JSON file per run
	lockFile     = "lock"               // flock(2) target, holds the owner's pid
)

// Store reads and writes the agent's state directory. Every write is atomic
// (temp file, fsync, rename); a file that fails to parse is moved aside with
// a warning and treated as absent, never silently overwritten.
type Store struct {
	Dir    string
	Logger zerolog.Logger
	Clock  clock.Clock // nil is the system clock
}

func (s *Store) clock() clock.Clock { return clock.Or(s.Clock) }

func (s *Store) now() time.Time { return s.clock().Now() }

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name) }

// ensureDir creates the state directory (0750) if it is missing.
func (s *Store) ensureDir(sub string) error {
	dir := s.Dir
	if sub != "" {
		dir = filepath.Join(dir, sub)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	return nil
}

// loadJSON decodes the file name into v. A missing file leaves v untouched
// and returns false. A file that cannot be parsed leaves v untouched,
// returns false and a message for the run's report: it is renamed to
// name.corrupt-<time>, or with readOnly left where it is.
func (s *Store) loadJSON(name string, v any, readOnly bool) (ok bool, moved []string, err error) {
	p := s.path(name)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("read %s: %w", p, err)
	}
	perr := json.Unmarshal(data, v)
	switch {
	case perr == nil:
		return true, nil, nil
	case readOnly:
		s.Logger.Warn().Str("file", p).Err(perr).Msg("state file does not parse; ignoring it")
		return false, []string{fmt.Sprintf("%s does not parse (%v): ignored", p, perr)}, nil
	}
	aside := fmt.Sprintf("%s.corrupt-%s", p, s.now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(p, aside); err != nil {
		return false, nil, fmt.Errorf("%s does not parse (%w) and cannot be moved aside: %w", p, perr, err)
	}
	s.Logger.Warn().Str("file", p).Str("moved_to", aside).Err(perr).
		Msg("state file does not parse; moved aside, starting from empty state")
	return false, []string{fmt.Sprintf("%s does not parse (%v): moved aside to %s", p, perr, aside)}, nil
}

// saveJSON writes v as indented JSON to the file name atomically.
func (s *Store) saveJSON(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	data = append(data, '\n')
	if err := s.ensureDir(filepath.Dir(name)); err != nil {
		return err
	}
	p := s.path(name)
	if err := renameio.WriteFile(p, data, 0o640); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
