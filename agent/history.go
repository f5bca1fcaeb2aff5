package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// historyTimeFormat names history files so they sort by time.
const historyTimeFormat = "20060102T150405Z"

// SaveRun stores a run's report as history/<time>-<run id>.json and the
// latest decision as last-decision.json. Per-sample details are left out
// of history to keep it small (about 20 KB per run).
func (s *Store) SaveRun(r *Report) error {
	slim := *r
	slim.Candidates = make([]CandidateReport, len(r.Candidates))
	for i, c := range r.Candidates {
		c.Samples = nil
		slim.Candidates[i] = c
	}
	name := filepath.Join(historyDir, r.Time.UTC().Format(historyTimeFormat)+"-"+r.RunID+".json")
	return errors.Join(s.saveJSON(name, &slim), s.saveJSON(decisionFile, r))
}

// PruneHistory removes history files older than keep.
func (s *Store) PruneHistory(keep time.Duration) error {
	cutoff := s.now().Add(-keep)
	entries, err := os.ReadDir(s.path(historyDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		t, ok := historyTime(e.Name())
		if ok && t.Before(cutoff) {
			errs = append(errs, os.Remove(filepath.Join(s.path(historyDir), e.Name())))
		}
	}
	return errors.Join(errs...)
}

// LoadHistory returns the stored runs since the given time, oldest first.
// A file that does not parse is skipped with a warning.
func (s *Store) LoadHistory(since time.Time) ([]Report, error) {
	entries, err := os.ReadDir(s.path(historyDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []Report
	for _, e := range entries {
		t, ok := historyTime(e.Name())
		if !ok || t.Before(since) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.path(historyDir), e.Name()))
		var r Report
		if err == nil {
			err = json.Unmarshal(data, &r)
		}
		if err != nil {
			s.Logger.Warn().Str("file", e.Name()).Err(err).Msg("skipping a history file that does not parse")
			continue
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Report) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func historyTime(name string) (time.Time, bool) {
	if !strings.HasSuffix(name, ".json") || len(name) < len(historyTimeFormat) {
		return time.Time{}, false
	}
	t, err := time.Parse(historyTimeFormat, name[:len(historyTimeFormat)])
	return t, err == nil
}
