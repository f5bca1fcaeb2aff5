package fallback

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// DefaultTimesyncdVerifyTimeout bounds waiting for timesyncd to get a
// reply from a selected server: it polls at its PollIntervalMinSec (32 s by
// default) after the first exchange, which comes at once.
const DefaultTimesyncdVerifyTimeout = 60 * time.Second

// TimesyncBus is what the backend needs from timesyncd's D-Bus API;
// Timesync1 is the real one.
type TimesyncBus interface {
	SetRuntimeServers(ctx context.Context, names []string) error
	RuntimeServers(ctx context.Context) ([]string, error)
	Status(ctx context.Context) (*TimesyncStatus, error)
}

// TimesyncdConfig configures the systemd-timesyncd backend.
type TimesyncdConfig struct {
	Root string
	// Unit is restarted when the change cannot be applied live
	// (default systemd-timesyncd.service).
	Unit     string
	Services ServiceManager
	// Bus applies live and verifies; without it the backend restarts the
	// unit and only checks that it is active.
	Bus            TimesyncBus
	VerifyTimeout  time.Duration
	VerifyInterval time.Duration
	KeepBackups    int
	Clock          clock.Clock
	Log            zerolog.Logger
	// AllowPlain lets Plan write servers the selection marks NTS as plain
	// NTP, with a warning in the change: the caller sets it when
	// selection.authentication = off. Without it Plan refuses them with
	// ErrNoNTS, since timesyncd has no NTS.
	AllowPlain bool
}

// ErrNoNTS is returned by the Plan of a daemon without NTS (timesyncd,
// classic ntpd) for a selection with servers to use with NTS, unless the
// backend's AllowPlain: writing them plain would silently trade
// authenticated time for unauthenticated time.
var ErrNoNTS = errors.New("this daemon cannot authenticate with NTS; use chrony (or NTPsec), " +
	"or set selection.authentication = off to use them unauthenticated")

// Validate checks the configuration, naming the field at fault.
func (c TimesyncdConfig) Validate() error {
	return c.common().validate("timesyncd")
}

func (c *TimesyncdConfig) common() common {
	return common{&c.VerifyTimeout, &c.VerifyInterval, &c.KeepBackups, &c.Clock}
}

// Timesyncd manages systemd-timesyncd through the drop-in
// /etc/systemd/timesyncd.conf.d/ntp-optimizer.conf (NTP=, best first) and,
// where systemd ≥ 251 offers it, SetRuntimeNTPServers over D-Bus.
type Timesyncd struct {
	cfg TimesyncdConfig
}

// NewTimesyncd returns the backend with defaults filled in.
func NewTimesyncd(c TimesyncdConfig) (*Timesyncd, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Unit == "" {
		c.Unit = "systemd-timesyncd.service"
	}
	c.common().defaults(DefaultTimesyncdVerifyTimeout)
	return &Timesyncd{cfg: c}, nil
}

// Current returns the NTP= servers timesyncd's files configure, in order
// (main file, then drop-ins by name; an empty NTP= resets the list).
func (t *Timesyncd) Current(ctx context.Context) ([]string, error) {
	return t.configured("")
}

// configured computes the NTP= list, skipping the file skip.
func (t *Timesyncd) configured(skip string) ([]string, error) {
	var list []string
	for _, p := range timesyncdFiles(t.cfg.Root) {
		if p == skip {
			continue
		}
		b, err := os.ReadFile(hostPath(t.cfg.Root, p))
		if err != nil {
			return nil, fmt.Errorf("read timesyncd configuration: %w", err)
		}
		list = parseNTPKey(b, list)
	}
	return list, nil
}

// Plan computes the drop-in for the selected servers without touching
// anything.
func (t *Timesyncd) Plan(servers []Server, policy daemon.Policy) (*Change, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	warnings, err := t.checkNTS(servers)
	if err != nil {
		return nil, err
	}
	old, existed, err := readCurrent(t.cfg.Root, TimesyncdDropIn)
	if err != nil {
		return nil, err
	}
	c := &Change{Backend: "timesyncd", Servers: servers, Policy: policy, Warnings: warnings}
	nb := renderDropIn(serverNames(servers), policy)
	if !existed || string(old) != string(nb) {
		c.Files = []FileChange{{Path: TimesyncdDropIn, Old: old, Existed: existed, New: nb}}
	}
	return c, nil
}

// checkNTS refuses servers marked NTS (ErrNoNTS, naming them and where
// they came from) unless AllowPlain, which writes them plain and says so.
func (t *Timesyncd) checkNTS(servers []Server) ([]string, error) {
	var nts []string
	for _, s := range servers {
		if s.NTS {
			nts = append(nts, fmt.Sprintf("%s (%s)", s.Name, originOf(s)))
		}
	}
	if len(nts) == 0 {
		return nil, nil
	}
	list := strings.Join(nts, ", ")
	if !t.cfg.AllowPlain {
		return nil, fmt.Errorf("selected with NTS: %s, but systemd-timesyncd has no NTS: %w", list, ErrNoNTS)
	}
	return []string{fmt.Sprintf("systemd-timesyncd cannot authenticate with NTS: %s written as plain NTP, "+
		"unauthenticated (selection.authentication = off)", list)}, nil
}

// CanNTS is false: systemd-timesyncd has no NTS.
func (t *Timesyncd) CanNTS() bool { return false }

// PlanRevert computes the change that removes the agent's drop-in.
func (t *Timesyncd) PlanRevert() (*Change, error) {
	old, existed, err := readCurrent(t.cfg.Root, TimesyncdDropIn)
	if err != nil {
		return nil, err
	}
	c := &Change{Backend: "timesyncd", Revert: true}
	if existed {
		c.Files = []FileChange{{Path: TimesyncdDropIn, Old: old, Existed: true, Remove: true}}
	}
	return c, nil
}

// Revert removes the drop-in and the runtime servers the agent set, and
// restarts timesyncd.
func (t *Timesyncd) Revert(ctx context.Context) (*Result, error) {
	c, err := t.PlanRevert()
	if err != nil {
		return nil, err
	}
	return t.Apply(ctx, c)
}

// Apply carries out a planned change: backup, atomic write, parse-back,
// live apply (or restart), verification over D-Bus, rollback on failure.
func (t *Timesyncd) Apply(ctx context.Context, c *Change) (*Result, error) {
	if t.cfg.Services == nil && t.cfg.Bus == nil {
		return nil, fmt.Errorf("timesyncd backend: %w", ErrNoSystemd)
	}
	var prevRuntime []string
	live := false
	var started time.Time
	e := engine{root: t.cfg.Root, keep: t.cfg.KeepBackups, clock: t.cfg.Clock, log: t.cfg.Log.With().Str("backend", "timesyncd").Logger()}
	return e.run(ctx, c, steps{
		validate: func(context.Context) error { return t.validate(c) },
		activate: func(ctx context.Context, res *Result) error {
			started = t.cfg.Clock.Now()
			if t.cfg.Bus != nil {
				rt, err := t.cfg.Bus.RuntimeServers(ctx)
				if err == nil {
					prevRuntime = rt
					target, err := t.runtimeTarget(c)
					if err != nil {
						return err
					}
					err = t.cfg.Bus.SetRuntimeServers(ctx, target)
					if err == nil && !c.Revert {
						live, res.Live = true, true
						return nil
					}
					if err != nil && !errors.Is(err, ErrUnsupported) {
						return err
					}
				} else if !errors.Is(err, ErrUnsupported) {
					return err
				}
			}
			if t.cfg.Services == nil {
				return fmt.Errorf("timesyncd has no SetRuntimeNTPServers and %w", ErrNoSystemd)
			}
			if err := t.cfg.Services.Restart(ctx, t.cfg.Unit); err != nil {
				return err
			}
			res.Restarted = true
			return nil
		},
		verify: func(ctx context.Context, res *Result) error {
			if c.Revert || t.cfg.Bus == nil {
				return t.checkActive(ctx)
			}
			st, err := t.waitSynced(ctx, serverNames(c.Servers), started)
			res.Timesync = st
			return err
		},
		reactivate: func(ctx context.Context) error {
			if live {
				return t.cfg.Bus.SetRuntimeServers(ctx, prevRuntime)
			}
			if t.cfg.Services == nil {
				return ErrNoSystemd
			}
			return t.cfg.Services.Restart(ctx, t.cfg.Unit)
		},
	})
}

// runtimeTarget is the runtime list to set: the selection (under add-only
// followed by the servers configured elsewhere, since timesyncd does not
// fall back from runtime to configured servers), or empty for a revert.
func (t *Timesyncd) runtimeTarget(c *Change) ([]string, error) {
	if c.Revert {
		return []string{}, nil
	}
	names := serverNames(c.Servers)
	if c.Policy == daemon.PolicyAddOnly {
		others, err := t.configured(TimesyncdDropIn)
		if err != nil {
			return nil, err
		}
		for _, o := range others {
			if !slices.Contains(names, o) {
				names = append(names, o)
			}
		}
	}
	return names, nil
}
