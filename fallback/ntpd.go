package fallback

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Where ntpd keeps its configuration, in the order they are tried.
var ntpConfPaths = []string{"/etc/ntpsec/ntp.conf", "/etc/ntp.conf"}

// ntpd verification defaults: with iburst a reachable server answers the
// first 8 packets 2 s apart, so a minute is plenty; production stays
// polite with a 2 s poll of ntpd's own control port (no NTP traffic).
const (
	DefaultNTPDVerifyTimeout = 90 * time.Second
	DefaultVerifyInterval    = 2 * time.Second
)

// ErrNoNTPConf is returned when no ntp.conf is found.
var ErrNoNTPConf = errors.New("no ntpd configuration file found")

// PeerReader reads ntpd's associations; Mode6 is the real one.
type PeerReader interface {
	Peers(ctx context.Context) ([]Peer, error)
}

// NTPDConfig configures the ntpd/NTPsec backend. Zero values take the
// documented defaults.
type NTPDConfig struct {
	// Root is the directory every path is taken under ("" or "/" for the
	// real system). Tests point it at a temp dir.
	Root string
	// ConfPath is ntp.conf as ntpd sees it (--ntp-conf); when empty,
	// /etc/ntpsec/ntp.conf then /etc/ntp.conf.
	ConfPath string
	// Unit is the systemd unit to restart; when empty, ntpsec.service for
	// /etc/ntpsec/ntp.conf, ntp.service otherwise (Detect reports the real
	// unit).
	Unit string
	// Services restarts the unit. Required for Apply and Revert.
	Services ServiceManager
	// Peers reads ntpd's associations for verification; Mode6{} when nil.
	Peers PeerReader
	// Check, when set, checks a written configuration with the daemon.
	// NTPsec 1.2 has no check-only mode (its -n/-q/-c options all start
	// the daemon, -q even sets the clock), so by default the files are
	// validated by parsing them back.
	Check func(ctx context.Context, confPath string) error
	// VerifyTimeout bounds waiting for a reachable peer after a restart.
	VerifyTimeout time.Duration
	// VerifyInterval is the pause between two mode 6 checks.
	VerifyInterval time.Duration
	// MinReachable is how many associations must be reachable (default 1).
	MinReachable int
	// AllowPlain lets Plan write servers the selection marks NTS as plain
	// NTP on a classic ntpd (which has no NTS), with a warning in the
	// change: the caller sets it when selection.authentication = off.
	// Without it Plan refuses them with ErrNoNTS, as for timesyncd. NTPsec
	// writes them with nts either way.
	AllowPlain bool
	// KeepBackups is how many backups of each file are kept (default 5).
	KeepBackups int
	Clock       clock.Clock
	Log         zerolog.Logger
}

// Validate checks the configuration, naming the field at fault.
func (c NTPDConfig) Validate() error {
	if c.MinReachable < 0 {
		return fmt.Errorf("ntpd MinReachable %d: must not be negative", c.MinReachable)
	}
	return c.common().validate("ntpd")
}

func (c *NTPDConfig) common() common {
	return common{&c.VerifyTimeout, &c.VerifyInterval, &c.KeepBackups, &c.Clock}
}

// NTPD edits ntpd/NTPsec's ntp.conf: the selected servers go into an
// ntp-optimizer block, other server/pool lines are commented out with a
// marker under daemon.PolicyConverge, and a revert restores the file byte for byte.
type NTPD struct {
	cfg NTPDConfig
}

// NewNTPD returns the backend with defaults filled in.
func NewNTPD(c NTPDConfig) (*NTPD, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Peers == nil {
		c.Peers = Mode6{}
	}
	if c.MinReachable == 0 {
		c.MinReachable = 1
	}
	c.common().defaults(DefaultNTPDVerifyTimeout)
	return &NTPD{cfg: c}, nil
}

// ConfPath returns the ntp.conf in use: the configured one, else the first
// of /etc/ntpsec/ntp.conf and /etc/ntp.conf that exists.
func (n *NTPD) ConfPath() (string, error) {
	if n.cfg.ConfPath != "" {
		return n.cfg.ConfPath, nil
	}
	for _, p := range ntpConfPaths {
		if _, err := os.Lstat(hostPath(n.cfg.Root, p)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked for %v; use --ntp-conf)", ErrNoNTPConf, ntpConfPaths)
}

// Unit returns the systemd unit Apply restarts.
func (n *NTPD) Unit() string {
	if n.cfg.Unit != "" {
		return n.cfg.Unit
	}
	if p, err := n.ConfPath(); err == nil && p == ntpConfPaths[0] {
		return "ntpsec.service"
	}
	return "ntp.service"
}

func (n *NTPD) tree() ([]*confFile, error) {
	p, err := n.ConfPath()
	if err != nil {
		return nil, err
	}
	return readTree(n.cfg.Root, p)
}

// Current returns the servers ntpd is configured with: the names of the
// active server and pool lines of ntp.conf and its includes, in file
// order (reference clocks left out).
func (n *NTPD) Current(ctx context.Context) ([]string, error) {
	files, err := n.tree()
	if err != nil {
		return nil, err
	}
	names, _ := activeSources(files)
	return names, nil
}

// Plan computes the edit for the selected servers (best first) without
// touching anything. The names are validated first: a bad one is rejected
// with its origin.
func (n *NTPD) Plan(servers []Server, policy daemon.Policy) (*Change, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	files, err := n.tree()
	if err != nil {
		return nil, err
	}
	edits, warnings, err := ntpEdit(files, servers, policy, n.cfg.AllowPlain)
	if err != nil {
		return nil, err
	}
	c := &Change{Backend: "ntpd", Servers: servers, Policy: policy, Warnings: warnings}
	c.Files = fileChanges(files, edits)
	return c, nil
}

// CanNTS says whether this ntpd authenticates with NTS: NTPsec, by the
// signs Plan goes by (a server line with nts, the configuration under
// /etc/ntpsec). An unreadable configuration says no.
func (n *NTPD) CanNTS() bool {
	files, err := n.tree()
	if err != nil {
		return false
	}
	pristine := make([][]line, len(files))
	for i, f := range files {
		if pristine[i], err = stripLines(f.path, f.lines); err != nil {
			return false
		}
	}
	return isNTPsec(files, ntsLines(pristine))
}

// PlanRevert computes the change that removes every ntp-optimizer edit.
func (n *NTPD) PlanRevert() (*Change, error) {
	files, err := n.tree()
	if err != nil {
		return nil, err
	}
	edits, err := ntpStrip(files)
	if err != nil {
		return nil, err
	}
	return &Change{Backend: "ntpd", Revert: true, Files: fileChanges(files, edits)}, nil
}

func fileChanges(files []*confFile, edits map[string][]byte) []FileChange {
	var out []FileChange
	for _, f := range files {
		if nb, ok := edits[f.path]; ok {
			out = append(out, FileChange{Path: f.path, Old: f.data, Existed: true, New: nb})
		}
	}
	return out
}

// Apply carries out a planned change: backup, atomic write, validation,
// restart, verification over mode 6, and on failure restore, restart again
// and report daemon.ErrRolledBack.
func (n *NTPD) Apply(ctx context.Context, c *Change) (*Result, error) {
	if n.cfg.Services == nil {
		return nil, fmt.Errorf("ntpd backend: %w", ErrNoSystemd)
	}
	unit := n.Unit()
	e := engine{root: n.cfg.Root, keep: n.cfg.KeepBackups, clock: n.cfg.Clock, log: n.cfg.Log.With().Str("backend", "ntpd").Logger()}
	return e.run(ctx, c, steps{
		validate: func(ctx context.Context) error { return n.validate(ctx, c) },
		activate: func(ctx context.Context, res *Result) error {
			if err := n.cfg.Services.Restart(ctx, unit); err != nil {
				return err
			}
			res.Restarted = true
			return nil
		},
		verify: func(ctx context.Context, res *Result) error {
			peers, err := n.waitReachable(ctx)
			res.Peers = peers
			return err
		},
		reactivate: func(ctx context.Context) error { return n.cfg.Services.Restart(ctx, unit) },
	})
}

// Revert removes the agent's edits (byte-identical to the file before the
// first run) and restarts ntpd, with the same safety as Apply.
func (n *NTPD) Revert(ctx context.Context) (*Result, error) {
	c, err := n.PlanRevert()
	if err != nil {
		return nil, err
	}
	return n.Apply(ctx, c)
}
