package schedule

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Unit names.
const (
	ServiceName = "ntp-optimizer.service"
	TimerName   = "ntp-optimizer.timer"
)

// Defaults for the units.
const (
	DefaultUnitDir = "/etc/systemd/system"
	DefaultBinary  = "/usr/sbin/ntp-optimizer"
	// DefaultOnBoot lets the network and the NTP daemon come up first.
	DefaultOnBoot = 5 * time.Minute
	// DefaultAccuracy is systemd's own default; the randomized delay
	// spreads a fleet far more than this coalesces.
	DefaultAccuracy = time.Minute
	// maxRandomizedDelay caps the spread: a quarter of the interval, at
	// most an hour, keeps the schedule recognisable.
	maxRandomizedDelay = time.Hour
	// DefaultTimeout bounds a run: probing (about a minute), the wait for
	// new sources (20 s) and verification, with a wide margin.
	DefaultTimeout = 15 * time.Minute
)

// DefaultWritablePaths are the paths the service may write besides its
// state and log directories (StateDirectory=, LogsDirectory=): chronyd's
// sources directory and its socket directory (the client socket is bound
// beside chronyd.sock), ntpd's and timesyncd's configuration, and
// node_exporter's textfile directory for --metrics-file. The "-" prefix
// lets systemd skip the ones this machine does not have.
var DefaultWritablePaths = []string{
	"-/etc/chrony/sources.d",
	"-/run/chrony",
	"-/etc/ntpsec",
	"-/etc/ntp.conf",
	"-/etc/systemd/timesyncd.conf.d",
	"-/var/lib/prometheus/node-exporter",
}

// ErrUnits is wrapped by every UnitConfig.Validate error.
var ErrUnits = errors.New("invalid unit settings")

// UnitConfig is what the two units are rendered from.
type UnitConfig struct {
	// Binary is the absolute path of ntp-optimizer in ExecStart.
	Binary string
	// ApplyArgs are extra arguments after "apply --no-schedule" (e.g.
	// "--config", "/etc/ntp-optimizer/config.toml").
	ApplyArgs []string
	// Interval is the time between runs (OnUnitActiveSec).
	Interval time.Duration
	// OnBoot is the delay of the first run after boot (OnBootSec).
	OnBoot time.Duration
	// RandomizedDelay spreads a fleet (RandomizedDelaySec); 0 takes a
	// quarter of Interval, at most an hour.
	RandomizedDelay time.Duration
	// Accuracy is AccuracySec.
	Accuracy time.Duration
	// Timeout is TimeoutStartSec of the oneshot run.
	Timeout time.Duration
	// WritablePaths are the ReadWritePaths; nil takes
	// DefaultWritablePaths. A leading "-" makes a path optional.
	WritablePaths []string
}

// DefaultUnitConfig returns the packaged defaults.
func DefaultUnitConfig() UnitConfig {
	return UnitConfig{
		Binary:   DefaultBinary,
		Interval: DefaultInterval,
		OnBoot:   DefaultOnBoot,
		Accuracy: DefaultAccuracy,
		Timeout:  DefaultTimeout,
	}
}

// EffectiveRandomizedDelay returns the RandomizedDelaySec the timer gets.
func (c UnitConfig) EffectiveRandomizedDelay() time.Duration {
	if c.RandomizedDelay > 0 {
		return c.RandomizedDelay
	}
	return min(c.Interval/4, maxRandomizedDelay).Round(time.Second)
}

func (c UnitConfig) writablePaths() []string {
	if c.WritablePaths == nil {
		return DefaultWritablePaths
	}
	return c.WritablePaths
}

// Validate checks every field and names the bad one.
func (c UnitConfig) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrUnits, fmt.Sprintf(format, a...))
	}
	if !filepath.IsAbs(c.Binary) || filepath.Clean(c.Binary) != c.Binary {
		return bad("binary %q: want a clean absolute path", c.Binary)
	}
	if err := checkArg(c.Binary); err != nil {
		return bad("binary: %v", err)
	}
	for i, a := range c.ApplyArgs {
		if err := checkArg(a); err != nil {
			return bad("apply argument %d: %v", i+1, err)
		}
	}
	if c.Interval < MinInterval || c.Interval > MaxInterval {
		return bad("interval %s: it must be from %s to %s", FormatSpan(c.Interval), FormatSpan(MinInterval), FormatSpan(MaxInterval))
	}
	if c.OnBoot < time.Minute || c.OnBoot > time.Hour {
		return bad("on-boot delay %s: it must be from 1min to 1h", FormatSpan(c.OnBoot))
	}
	if c.RandomizedDelay < 0 || c.RandomizedDelay > c.Interval {
		return bad("randomized delay %s: it must be from 0 to the interval", FormatSpan(c.RandomizedDelay))
	}
	if c.Accuracy < time.Second || c.Accuracy > c.Interval {
		return bad("accuracy %s: it must be from 1s to the interval", FormatSpan(c.Accuracy))
	}
	if c.Timeout < time.Minute || c.Timeout > 2*time.Hour {
		return bad("timeout %s: it must be from 1min to 2h", FormatSpan(c.Timeout))
	}
	for _, p := range c.writablePaths() {
		q := strings.TrimPrefix(p, "-")
		if !filepath.IsAbs(q) || filepath.Clean(q) != q || strings.ContainsAny(q, " \t\r\n\"'\\%$") {
			return bad("writable path %q: want a clean absolute path without spaces, quotes, %% or $", p)
		}
	}
	return nil
}

// checkArg refuses what cannot be written safely on an ExecStart line.
func checkArg(a string) error {
	if a == "" {
		return errors.New("empty")
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q contains a control character", a)
		}
	}
	return nil
}

// quoteArg quotes one ExecStart word for systemd.service(5): words of
// plain characters stay bare; others are double-quoted with \ and "
// escaped. '%' (specifiers) and '$' (variables) are doubled in both.
func quoteArg(a string) string {
	a = strings.ReplaceAll(a, "%", "%%")
	a = strings.ReplaceAll(a, "$", "$$")
	plain := true
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./:=,@+-%$", r)) {
			plain = false
			break
		}
	}
	if plain {
		return a
	}
	a = strings.ReplaceAll(a, `\`, `\\`)
	a = strings.ReplaceAll(a, `"`, `\"`)
	return `"` + a + `"`
}
