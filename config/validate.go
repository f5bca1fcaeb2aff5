package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/schedule"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid configuration")

// KeyError is a bad value for one key, with what is allowed.
type KeyError struct {
	Key     string // dotted path; "servers[2]" for one item of a list
	Value   string // the value as config show would print it
	Allowed string // "between 1 and 8", "converge or add-only"
	Where   string // source of the value, filled in by Loaded.Validate
	// Reason replaces "must be Allowed" when another package's message
	// says what is wrong (the notifications' rules).
	Reason string
	// RelKey is the other key a rule compares with ("must be at most
	// selection.set_size"), with its value and, from Loaded.Validate, its
	// source.
	RelKey, RelValue, RelWhere string
}

func (e *KeyError) Error() string {
	where := ""
	if e.Where != "" {
		where = " (from " + e.Where + ")"
	}
	if e.Reason != "" {
		return fmt.Sprintf("%s = %s%s: %s", e.Key, e.Value, where, e.Reason)
	}
	allowed := e.Allowed
	switch {
	case e.RelKey != "" && e.RelWhere != "" && e.RelWhere != "default":
		allowed += " (" + e.RelValue + ", from " + e.RelWhere + ")"
	case e.RelKey != "" && e.RelWhere != "":
		allowed += " (" + e.RelValue + ", " + e.RelWhere + ")"
	case e.RelKey != "":
		allowed += " (" + e.RelValue + ")"
	}
	return fmt.Sprintf("%s = %s%s: must be %s", e.Key, e.Value, where, allowed)
}

func (e *KeyError) Unwrap() error { return ErrInvalid }

// Validate checks every key against its allowed values and returns all
// problems joined, each a *KeyError.
func (c *Config) Validate() error { return c.validate(nil) }

// validate is Validate; chosen reports whether the operator set a key
// (nil: every key counts as set). A rule relating two keys may spare a
// key left at its default: the default min_set_size (3) follows a smaller
// set_size.
func (c *Config) validate(chosen func(path string) bool) error {
	var errs []error
	check := func(path string, ok bool, allowed string) {
		if !ok {
			k, _ := Lookup(path)
			errs = append(errs, &KeyError{Key: path, Value: k.Format(c), Allowed: allowed})
		}
	}
	intIn := func(path string, v, lo, hi int) {
		check(path, v >= lo && v <= hi, fmt.Sprintf("between %d and %d", lo, hi))
	}
	durIn := func(path string, d Duration, lo, hi time.Duration) {
		check(path, d.D() >= lo && d.D() <= hi, fmt.Sprintf("between %s and %s", lo, hi))
	}
	oneOf := func(path, v string, allowed ...string) {
		ok := false
		for _, a := range allowed {
			ok = ok || v == a
		}
		check(path, ok, "one of "+strings.Join(allowed, ", "))
	}

	oneOf("policy", c.Policy, "converge", "add-only")
	oneOf("backend", c.Backend, "auto", "chrony", "ntpd", "timesyncd")
	oneOf("selection.authentication", c.Selection.Authentication, "prefer", "require", "off")
	oneOf("testing.measure", c.Testing.Measure, agent.MeasureModes...)
	// Relative, it would depend on each run's working directory (the
	// timer's is /).
	check("paths.state_dir", filepath.IsAbs(c.Paths.StateDir), "an absolute path")
	check("paths.lock_dir", c.Paths.LockDir == "" || filepath.IsAbs(c.Paths.LockDir), "an absolute path (or empty)")
	if err := chronyctl.ValidateSourceOptions(c.Chrony.SourceOptions); err != nil {
		check("chrony.source_options", false, "chrony server options (chrony.conf(5), without port): "+err.Error())
	}
	durIn("chrony.timeout", c.Chrony.Timeout, 100*time.Millisecond, time.Minute)
	durIn("chrony.answer_timeout", c.Chrony.AnswerTimeout, time.Second, 5*time.Minute)
	durIn("chrony.verify_timeout", c.Chrony.VerifyTimeout, time.Second, 10*time.Minute)

	// RFC 4330 / the pool's rate limits: never more than 8 packets per
	// address per run (ntp-practice.md, "Being polite").
	intIn("testing.samples_per_server", c.Testing.SamplesPerServer, 1, 8)
	durIn("testing.spacing", c.Testing.Spacing, 0, time.Minute)
	durIn("testing.timeout", c.Testing.Timeout, 100*time.Millisecond, time.Minute)
	durIn("testing.interval_hours", c.Testing.Interval, schedule.MinInterval, schedule.MaxInterval)
	if err := proberError(c, errs); err != nil {
		errs = append(errs, err)
	}

	errs = append(errs, delegated(c)...)
	sel := c.Selection
	if sel.MinSetSize > sel.SetSize && sel.SetSize >= 1 && sel.MinSetSize <= scoring.MaxSetSize &&
		(chosen == nil || chosen("selection.min_set_size")) {
		// scoring would shrink the set to set_size regardless, removing
		// healthy sources the operator meant to keep.
		errs = append(errs, &KeyError{Key: "selection.min_set_size", Value: fmt.Sprint(sel.MinSetSize),
			Allowed: "at most selection.set_size", RelKey: "selection.set_size", RelValue: fmt.Sprint(sel.SetSize)})
	}

	oneOf("logging.level", c.Logging.Level, "debug", "info", "warn", "error")
	oneOf("logging.format", c.Logging.Format, "auto", "console", "json", "journal")
	intIn("history.retention_days", c.History.RetentionDays, 1, 3650)
	return errors.Join(errs...)
}

// Validate checks the effective configuration and says for each bad value
// where it came from (file and line, variable or flag).
func (l *Loaded) Validate() error {
	err := l.Config.validate(func(path string) bool { _, ok := l.sources[path]; return ok })
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	list := []error{err}
	if errors.As(err, &joined) {
		list = joined.Unwrap()
	}
	for _, e := range list {
		var ke *KeyError
		if errors.As(e, &ke) {
			ke.Where = l.where(ke.Key)
			if ke.RelKey != "" {
				ke.RelWhere = l.Source(ke.RelKey).String()
			}
		}
	}
	return err
}

// where is the source of a key, or of one item of a list ("servers[2]":
// its own line when the list came from the file), or "" for a default.
func (l *Loaded) where(key string) string {
	base, _, item := strings.Cut(key, "[")
	src, ok := l.sources[base]
	if !ok {
		return ""
	}
	if is, ok := l.sources[key]; item && ok && src.Kind == "file" && is.Kind == "file" {
		src = is
	}
	return src.String()
}
