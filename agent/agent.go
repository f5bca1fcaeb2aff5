package agent

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
	"github.com/ntp-optimizer/ntp-optimizer/metrics"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Backend is what a run needs from the machine's NTP daemon: the live
// chronyd backend (package chronylive), the ntpd and timesyncd file
// backends (fallback.Files), or daemon.Unavailable when none answers.
type Backend interface {
	// Name is "chrony", "ntpd" or "timesyncd".
	Name() string
	// Sources returns the daemon's NTP sources now, with the daemon's own
	// measurements where it has them.
	Sources(ctx context.Context) ([]daemon.Source, error)
	// Apply makes the daemon use plan.Selected. It verifies the result and
	// rolls back on failure itself; Applied says what happened.
	Apply(ctx context.Context, plan daemon.Plan) (daemon.Applied, error)
	// Preview describes what Apply would do without doing it (for
	// --dry-run): a unified diff for file backends, "" otherwise.
	Preview(plan daemon.Plan) (string, error)
}

// Discoverer finds the run's candidates (*discovery.Discoverer). current
// are the daemon's sources, by address.
type Discoverer interface {
	Discover(ctx context.Context, cfg discovery.Config, current []discovery.Source) (discovery.Result, error)
}

// Prober measures the candidates' addresses directly (*prober.Prober).
type Prober interface {
	Probe(ctx context.Context, targets []prober.Target, opt prober.RunOptions) ([]prober.Result, error)
}

// Notifier tells people what a run did (*notify.Notifier): it returns the
// throttle state to keep for the next run.
type Notifier interface {
	Notify(ctx context.Context, st notify.State, o notify.Outcome) (notify.State, error)
}

// MetricsWriter writes a run's metrics (metrics.File).
type MetricsWriter interface {
	Write(r metrics.Run) error
}

// Settings are the configuration of runs (config.Config.Agent gives them
// from the configuration file, variables and flags).
type Settings struct {
	Discovery discovery.Config
	Scoring   scoring.Config
	Policy    daemon.Policy
	// HistoryRetention is how long run history is kept.
	HistoryRetention time.Duration
	// LockWait is how long a run waits for a run in progress.
	LockWait time.Duration
}

// Agent runs the optimisation: discover → measure → decide → apply →
// record. Every dependency is a field, declared here as the small
// interface the pipeline consumes, so tests can replace any of them; Run
// never changes them.
type Agent struct {
	Settings
	Backend    Backend
	Discoverer Discoverer
	Prober     Prober
	Store      *Store
	// Notifier and Metrics are the record stage's outputs; nil leaves
	// them out.
	Notifier Notifier
	Metrics  MetricsWriter
	Log      zerolog.Logger
	// Clock is the run's clock; nil is the system clock.
	Clock clock.Clock
}

// Options are per-run switches.
type Options struct {
	// DryRun measures and decides but changes nothing: not the daemon,
	// not a file, not the state.
	DryRun bool
}

func (a *Agent) now() time.Time { return clock.Or(a.Clock).Now() }
