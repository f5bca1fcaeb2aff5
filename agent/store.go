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
	// ReadOnly never changes the directory: a file that does not parse is
	// reported and left where it is (status, --dry-run).
	ReadOnly bool
	// Moved lists what was moved aside because it did not parse, as
	// messages for the run's report.
	Moved []string
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
// and returns false. A file that cannot be parsed is renamed to
// name.corrupt-<time> and logged; v is left untouched and false returned.
func (s *Store) loadJSON(name string, v any) (bool, error) {
	p := s.path(name)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		if s.ReadOnly {
			s.Logger.Warn().Str("file", p).Err(err).Msg("state file does not parse; ignoring it")
			s.Moved = append(s.Moved, fmt.Sprintf("%s does not parse (%v): ignored", p, err))
			return false, nil
		}
		aside := fmt.Sprintf("%s.corrupt-%s", p, s.now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(p, aside); rerr != nil {
			return false, fmt.Errorf("%s does not parse (%v) and cannot be moved aside: %w", p, err, rerr)
		}
		s.Logger.Warn().Str("file", p).Str("moved_to", aside).Err(err).
			Msg("state file does not parse; moved aside, starting from empty state")
		s.Moved = append(s.Moved, fmt.Sprintf("%s does not parse (%v): moved aside to %s", p, err, aside))
		return false, nil
	}
	return true, nil
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
