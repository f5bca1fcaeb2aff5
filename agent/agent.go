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

// NTSChecker pre-flights a server listed with nts before it may be added
// (*prober.Prober): a key exchange chronyd would accept, then
// authenticated NTP requests. It never fails as a call: everything is in
// the result.
type NTSChecker interface {
	PreflightNTS(ctx context.Context, t prober.NTSTarget, o prober.NTSOptions) prober.NTSResult
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
	// NTS says how the NTS candidates are pre-flighted.
	NTS NTSSettings
	// Measure says how new candidates are measured (testing.measure):
	// MeasureAuto ("" too), MeasureChronyd or MeasureProbe.
	Measure string
	// Spacing is the probe's least time between two requests to one
	// address (testing.spacing): longer than AuditionSpacing, no
	// audition.
	Spacing time.Duration
}

// NTSSettings say how a run pre-flights the candidates listed with nts.
type NTSSettings struct {
	// Options are the pre-flight's: the daemon's certificate trust
	// (chronyd's ntstrustedcerts, nosystemcert, nocerttimecheck), the
	// number of authenticated samples (the probe's samples_per_server) and
	// the timeouts (zero: the prober's). Dial is wrapped by the run, to
	// count the key exchanges and see a missing route.
	Options prober.NTSOptions
	// Parallel is how many pre-flights run at once: the probe's
	// max_in_flight; 0 means 1.
	Parallel int
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
	// NTS pre-flights the candidates listed with nts instead of the plain
	// probe; nil means no pre-flight, and such candidates are never added
	// (the daemon's own NTS sources are measured as before).
	NTS   NTSChecker
	Store *Store
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
