package fallback

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Sentinels for what the caller must branch on, besides
// daemon.ErrRolledBack: the change was written but failed validation, the
// restart or verification, and the previous configuration was restored
// (the Result says why).
var (
	// ErrRollbackFailed: restoring the previous configuration failed too;
	// the Result lists the backups to restore by hand.
	ErrRollbackFailed = errors.New("rollback failed")
)

// Change is what Plan computed, without touching anything: the files to
// write and why. Diff shows it (for --dry-run); Apply carries it out.
type Change struct {
	Backend  string // "ntpd" or "timesyncd"
	Servers  []Server
	Policy   daemon.Policy
	Revert   bool // made by Revert: removes the agent's edits
	Files    []FileChange
	Warnings []string
}

// Empty reports whether applying the change would write nothing (the
// configuration already says what it should).
func (c *Change) Empty() bool { return c == nil || len(c.Files) == 0 }

// Diff is the unified diff of every file the change touches.
func (c *Change) Diff() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	for _, fc := range c.Files {
		b.WriteString(fc.Diff())
	}
	return b.String()
}

// Result reports what Apply or Revert did.
type Result struct {
	Backend    string
	Changed    bool     // files were written (and kept, unless RolledBack)
	Files      []string // the files written, as the daemon sees them
	Backups    []string // backups made, host paths; kept after a rollback
	Live       bool     // applied live (timesyncd SetRuntimeNTPServers), no restart
	Restarted  bool
	Verified   bool
	RolledBack bool
	Reason     string // why it was rolled back
	// Peers is ntpd's association list at verification (mode 6).
	Peers []Peer
	// Timesync is timesyncd's state at verification (D-Bus).
	Timesync *TimesyncStatus
}

// steps are the backend-specific parts of carrying out a change.
type steps struct {
	// validate checks the written files (parse back, daemon check).
	validate func(ctx context.Context) error
	// activate makes the daemon use the new files (restart, live apply).
	activate func(ctx context.Context, res *Result) error
	// verify checks that the daemon works with them.
	verify func(ctx context.Context, res *Result) error
	// reactivate makes the daemon use the restored files after a rollback.
	reactivate func(ctx context.Context) error
}

// engine carries out a Change as a transaction: check nothing changed
// since the plan, back up, write atomically, validate, activate, verify,
// and on any failure after the first write restore every file and
// reactivate.
type engine struct {
	root  string
	keep  int
	clock clock.Clock
	log   zerolog.Logger
}

func (e engine) run(ctx context.Context, c *Change, s steps) (*Result, error) {
	res := &Result{Backend: c.Backend}
	if c.Empty() {
		e.log.Info().Str("backend", c.Backend).Msg("configuration already up to date, nothing written")
		return res, nil
	}
	for _, fc := range c.Files {
		if err := checkUnchanged(e.root, fc); err != nil {
			return res, err
		}
	}
	var done []FileChange
	fail := func(stage string, cause error) (*Result, error) {
		res.Reason = fmt.Sprintf("%s: %v", stage, cause)
		e.log.Error().Err(cause).Str("stage", stage).Msg("change failed, restoring the previous configuration")
		if rerr := e.restore(ctx, done, s); rerr != nil {
			res.Reason += "; restoring failed: " + rerr.Error()
			return res, fmt.Errorf("%w: %s (backups kept: %s): %w", ErrRollbackFailed, res.Reason, strings.Join(res.Backups, ", "), cause)
		}
		res.RolledBack = len(done) > 0
		if !res.RolledBack {
			return res, fmt.Errorf("%s: %w", stage, cause)
		}
		return res, fmt.Errorf("%w after %s: %w", daemon.ErrRolledBack, stage, cause)
	}
	now := e.clock.Now()
	for _, fc := range c.Files {
		if fc.Existed {
			b, err := backupFile(e.root, fc.Path, fc.Old, now, e.keep)
			if err != nil {
				return fail("backup", err)
			}
			res.Backups = append(res.Backups, b)
		}
		var err error
		switch {
		case fc.Remove:
			err = removeFile(e.root, fc.Path)
		case !fc.Existed:
			if err = os.MkdirAll(filepath.Dir(hostPath(e.root, fc.Path)), 0o755); err != nil {
				err = explainWriteError(fc.Path, err)
				break
			}
			err = writeAtomic(e.root, fc.Path, fc.New, 0o644)
		default:
			err = writeAtomic(e.root, fc.Path, fc.New, 0o644)
		}
		if err != nil {
			return fail("write", err)
		}
		done = append(done, fc)
		res.Files = append(res.Files, fc.Path)
		e.log.Info().Str("file", fc.Path).Bool("removed", fc.Remove).Msg("configuration written")
	}
	res.Changed = true
	for _, fc := range c.Files {
		if err := checkWritten(e.root, fc); err != nil {
			return fail("validate", err)
		}
	}
	if err := s.validate(ctx); err != nil {
		return fail("validate", err)
	}
	if err := s.activate(ctx, res); err != nil {
		return fail("activate", err)
	}
	if err := s.verify(ctx, res); err != nil {
		return fail("verify", err)
	}
	res.Verified = true
	return res, nil
}

// restore writes back the old content of every file written so far (in
// reverse order) and reactivates the daemon on it.
func (e engine) restore(ctx context.Context, done []FileChange, s steps) error {
	var errs []error
	for i := len(done) - 1; i >= 0; i-- {
		fc := done[i]
		var err error
		if fc.Existed {
			err = writeAtomic(e.root, fc.Path, fc.Old, 0o644)
		} else {
			err = removeFile(e.root, fc.Path)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(done) > 0 && len(errs) == 0 && s.reactivate != nil {
		// A context that is already done must not stop the restart back.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := s.reactivate(rctx); err != nil {
			errs = append(errs, fmt.Errorf("restart on the restored configuration: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkWritten reads a file back and compares it with what was written.
func checkWritten(root string, fc FileChange) error {
	cur, exists, err := readCurrent(root, fc.Path)
	if err != nil {
		return err
	}
	if fc.Remove {
		if exists {
			return fmt.Errorf("%s is still there after removing it", fc.Path)
		}
		return nil
	}
	if !exists || string(cur) != string(fc.New) {
		return fmt.Errorf("%s does not hold what was written", fc.Path)
	}
	return nil
}

func removeFile(root, p string) error {
	if err := os.Remove(hostPath(root, p)); err != nil && !os.IsNotExist(err) {
		return explainWriteError(p, err)
	}
	return nil
}

// common holds the settings both backends share.
type common struct {
	verifyTimeout, verifyInterval *time.Duration
	keep                          *int
	clock                         *clock.Clock
}

// validate checks the shared settings; backend names the backend in the
// message.
func (c common) validate(backend string) error {
	switch {
	case *c.verifyTimeout < 0:
		return fmt.Errorf("%s VerifyTimeout %v: must not be negative", backend, *c.verifyTimeout)
	case *c.verifyInterval < 0:
		return fmt.Errorf("%s VerifyInterval %v: must not be negative", backend, *c.verifyInterval)
	case *c.keep < 0:
		return fmt.Errorf("%s KeepBackups %d: must not be negative", backend, *c.keep)
	}
	return nil
}

// defaults fills in zero values.
func (c common) defaults(timeout time.Duration) {
	if *c.verifyTimeout == 0 {
		*c.verifyTimeout = timeout
	}
	if *c.verifyInterval == 0 {
		*c.verifyInterval = DefaultVerifyInterval
	}
	if *c.keep == 0 {
		*c.keep = DefaultKeepBackups
	}
	*c.clock = clock.Or(*c.clock)
}
