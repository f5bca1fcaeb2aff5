package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/schedule"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid configuration")

// KeyError is a bad value for one key, with what is allowed.
type KeyError struct {
	Key     string // dotted path
	Value   string // the value as config show would print it
	Allowed string // "between 1 and 8", "converge or add-only"
	Where   string // source of the value, filled in by Loaded.Validate
}

func (e *KeyError) Error() string {
	where := ""
	if e.Where != "" {
		where = " (from " + e.Where + ")"
	}
	return fmt.Sprintf("%s = %s%s: must be %s", e.Key, e.Value, where, e.Allowed)
}

func (e *KeyError) Unwrap() error { return ErrInvalid }

// Validate checks every key against its allowed values and returns all
// problems joined, each a *KeyError.
func (c *Config) Validate() error {
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
	check("paths.state_dir", c.Paths.StateDir != "", "a directory")
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

	errs = append(errs, delegated(c)...)

	oneOf("logging.level", c.Logging.Level, "debug", "info", "warn", "error")
	oneOf("logging.format", c.Logging.Format, "auto", "console", "json")
	intIn("logging.retention_days", c.Logging.RetentionDays, 1, 3650)
	intIn("history.retention_days", c.History.RetentionDays, 1, 3650)
	return errors.Join(errs...)
}

// Validate checks the effective configuration and says for each bad value
// where it came from (file and line, variable or flag).
func (l *Loaded) Validate() error {
	err := l.Config.Validate()
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
			if src, ok := l.sources[ke.Key]; ok {
				ke.Where = src.String()
			}
		}
	}
	return err
}
