package discovery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

// entries turns validated Config entries into candidates.
func entries(list []string, origin string, pinned bool) []Candidate {
	var out []Candidate
	for _, s := range list {
		name, port, nts, err := parseServer(s)
		if err != nil {
			continue // Config.Validate has rejected it already
		}
		out = append(out, listed(Candidate{Name: name, Port: port, Origin: origin, Pinned: pinned}, nts))
	}
	return out
}

// pipeWait bounds reading a servers file that is a pipe (a FIFO, or
// process substitution's /dev/fd/N) whose writer is slow to finish.
const pipeWait = 30 * time.Second

// readServersFile reads a --servers-file list (at most maxListBytes, so a
// wrong path such as /dev/zero cannot exhaust memory). It is opened
// without blocking, so a named pipe nobody writes to is an error rather
// than a run that hangs, and a pipe is read for at most pipeWait.
func readServersFile(path string) ([]Candidate, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("servers file: %w", err)
	}
	defer f.Close()
	pipe := false
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
		pipe = true
		_ = f.SetReadDeadline(time.Now().Add(pipeWait))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxListBytes+1))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, fmt.Errorf("servers file %s: the pipe's writer did not finish within %s", path, pipeWait)
	case err != nil:
		return nil, fmt.Errorf("servers file: %w", err)
	case pipe && len(data) == 0:
		return nil, fmt.Errorf("servers file %s: a pipe with nothing written to it (no writer)", path)
	}
	if len(data) > maxListBytes {
		return nil, fmt.Errorf("servers file %s: larger than %d bytes", path, maxListBytes)
	}
	list, err := parseServers(bytes.NewReader(data), path)
	if err != nil {
		return nil, fmt.Errorf("servers file %w", err)
	}
	out := make([]Candidate, 0, len(list))
	for _, e := range list {
		origin := OriginServersFile + ":" + path + ":" + strconv.Itoa(e.Line)
		out = append(out, listed(Candidate{Name: e.Name, Port: e.Port, Origin: origin}, e.NTS))
	}
	return out, nil
}

// chronydSources validates chronyd's current sources; a bad one is
// skipped with a warning (chronyd keeps it; nothing here can use it).
func chronydSources(current []Source) ([]Candidate, []error) {
	var out []Candidate
	var warnings []error
	for _, s := range current {
		if err := srvname.Validate(s.Name); err != nil {
			warnings = append(warnings, fmt.Errorf("chronyd source skipped: %w", err))
			continue
		}
		port := s.Port
		if port == 0 {
			port = DefaultPort
		}
		if port < 0 || port > 65535 {
			warnings = append(warnings, fmt.Errorf("chronyd source %s skipped: port %d", s.Name, s.Port))
			continue
		}
		out = append(out, Candidate{Name: normalizeName(s.Name), Port: port, Origin: OriginChronyd})
	}
	return out, warnings
}

// poolCandidates returns the regional pool names (country zone, then
// continent zone) and the global ones (only with FallbackToGlobal; in the
// regional group's place when the region is unknown).
func poolCandidates(p poolZones, cfg Config, r Region) (regional, global []Candidate, warnings []error) {
	if cfg.PoolNames == 0 {
		return nil, nil, nil
	}
	if r.Country != "" {
		regional = append(regional, p.names(poolZoneLabel(r.Country), cfg.PoolNames)...)
	}
	if r.Continent != "" {
		regional = append(regional, p.names(r.Continent, cfg.PoolNames)...)
	}
	switch {
	case cfg.FallbackToGlobal && len(regional) == 0:
		// No regional zone to try: the global zone is the next in line
		// and takes the regional zones' place, before the catalog.
		regional = p.names("", cfg.PoolNames)
	case cfg.FallbackToGlobal:
		global = p.names("", cfg.PoolNames)
	case len(regional) == 0:
		warnings = append(warnings, errors.New("no region known and fallback_to_global is off: no pool names offered"))
	}
	return regional, global, warnings
}
