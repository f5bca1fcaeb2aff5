package chronylive

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
)

// Client is what the backend needs from chronyd's command socket
// (satisfied by *chronyctl.Client).
type Client interface {
	Sources(ctx context.Context) ([]chronyctl.Source, error)
	SourcesParts(ctx context.Context, parts chronyctl.Parts) ([]chronyctl.Source, error)
	Tracking(ctx context.Context) (chronyctl.Tracking, error)
	AddSource(ctx context.Context, r chronyctl.AddSourceRequest) error
	DeleteSource(ctx context.Context, a chronyctl.Addr) error
	// AuthData is REQ_AUTH_DATA (chrony 4.0+): how chronyd authenticates
	// one source.
	AuthData(ctx context.Context, a chronyctl.Addr) (chronyctl.AuthData, error)
}

// Defaults of Config.
const (
	// DefaultAnswerTimeout is how long new sources get to answer before
	// old ones are removed (bounded, ≤ 20 s: with iburst chronyd polls a
	// new source at once and then every 2 s).
	DefaultAnswerTimeout = 20 * time.Second
	// DefaultVerifyTimeout is how long chronyd gets to select a source
	// after a change.
	DefaultVerifyTimeout = 60 * time.Second
	// DefaultMinSamples is how many samples chronyd must hold of a source
	// before its statistics replace a direct probe: chronyd's own minimum
	// for a regression is 3, and 4 matches the prober's samples.
	DefaultMinSamples = 4
	// pollEvery is how often chronyd is asked while waiting.
	pollEvery = 250 * time.Millisecond
	// rollbackTimeout bounds the undo of a cancelled run.
	rollbackTimeout = 10 * time.Second
)

// Config is how the backend changes chronyd's sources (the [chrony]
// section). Zero durations and counts take the defaults above (config
// validates them positive).
type Config struct {
	// SourceOptions are the chrony `server` options of every source the
	// agent adds, live and in the sources file ("iburst"); a server
	// marked NTS gets `nts` after them.
	SourceOptions string
	AnswerTimeout time.Duration
	VerifyTimeout time.Duration
	MinSamples    int
	// AuditionTimeout bounds the wait for auditioned candidates' samples
	// (see Audition).
	AuditionTimeout time.Duration
	// SourceDir is where New puts the sources file; "" means the first
	// persistent sourcedir of ChronyConf (and what it includes).
	SourceDir  string
	ChronyConf string
}

func (c Config) answerTimeout() time.Duration { return cmp.Or(c.AnswerTimeout, DefaultAnswerTimeout) }
func (c Config) verifyTimeout() time.Duration { return cmp.Or(c.VerifyTimeout, DefaultVerifyTimeout) }
func (c Config) minSamples() int              { return cmp.Or(c.MinSamples, DefaultMinSamples) }

// Backend is the live chronyd backend.
type Backend struct {
	Config
	Client Client
	// File is the agent's sources file; nil when chronyd's configuration
	// has no persistent sourcedir (NoFile says why, in the run's warning).
	File   *SourcesFile
	NoFile string
	// Pools are the names of chronyd's `pool` directives (from its
	// configuration): their members are chronyd's to replace.
	Pools []string
	// NTS are the names of chronyd's `server` lines with `nts` (from its
	// configuration and sourcedirs, the agent's own file included): such
	// a source is NTS in Sources, and a rollback re-adds it with `nts`.
	// chronyd's authdata (NTS mode) marks the others it authenticates,
	// such as sources added at runtime.
	NTS []string
	// NTSOptions are those lines' NTS options besides nts, by canonical
	// name (ChronyConf.NTSOptions): Sources puts them on daemon.Source.
	NTSOptions map[string]string
	// Trust is chronyd's trust for NTS-KE certificates (ntstrustedcerts,
	// nosystemcert, nocerttimecheck in its configuration): what a
	// pre-flight of an NTS candidate must verify with. Zero when chronyd's
	// configuration could not be read.
	Trust NTSTrust
	Log   zerolog.Logger
	// Clock times the waits; nil is the system clock.
	Clock clock.Clock

	// auditioned are the sources this backend added under audition and
	// has neither promoted nor deleted (see Audition).
	auditionMu sync.Mutex
	auditioned map[netip.Addr]bool
}

// New returns the backend over client. It finds the sources file's
// directory now: SourceDir, else the first persistent sourcedir of
// chronyd's configuration; without one the backend still works live and
// each run warns that the set will not survive a restart of chronyd.
func New(client Client, cfg Config, log zerolog.Logger) *Backend {
	b := &Backend{Config: cfg, Client: client, Log: log}
	conf, err := ReadChronyConf(cmp.Or(cfg.ChronyConf, DefaultChronyConf))
	if err == nil {
		b.Pools, b.NTS, b.NTSOptions, b.Trust = conf.Pools, conf.NTS, conf.NTSOptions, conf.Trust
	}
	dir := cfg.SourceDir
	if dir == "" {
		if err == nil {
			dir, err = conf.PersistentSourceDir()
		}
		if err != nil {
			b.NoFile = err.Error()
			return b
		}
	}
	b.File = &SourcesFile{Path: filepath.Join(dir, SourcesFileName)}
	return b
}

// authNTS is scoring.Measurement.Auth of a source chronyd authenticates
// with NTS.
const authNTS = "nts"

// Name is "chrony".
func (b *Backend) Name() string { return "chrony" }

// Preview describes a change without making it: a live change has no file
// diff to show.
func (b *Backend) Preview(daemon.Plan) (string, error) { return "", nil }

// Sources returns chronyd's sources with its own statistics for those it
// has sampled enough, their offsets converted to the agent's convention
// (see measurement), and each source's reach register, pool and
// authentication (NTS from chronyd's authdata or its configuration).
func (b *Backend) Sources(ctx context.Context) ([]daemon.Source, error) {
	srcs, err := b.Client.Sources(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading chronyd's sources: %w", err)
	}
	ntsByAuth := b.authenticated(ctx, srcs)
	// chronyd measures against its own idea of the time; tracking says how
	// far the system clock is from it. Without tracking (chronyd not
	// synchronised yet) the correction is taken as zero.
	var correction float64
	if tr, err := b.Client.Tracking(ctx); err == nil {
		correction = tr.CurrentCorrection
	}
	common := commonMisses(srcs)
	out := make([]daemon.Source, 0, len(srcs))
	for i := range srcs {
		s := &srcs[i]
		d := daemon.Source{Address: s.Address.IP, Name: s.Name, ID: s.Address.String(),
			Refclock: s.Mode == chronyctl.ModeRefclock, Port: int(s.NTP.RemotePort)}
		if d.Refclock {
			d.Address = netip.Addr{}
		} else {
			d.Reach, d.HasReach, d.Poll = s.Reach, true, s.Poll
			d.Pool = b.poolOf(s.Name)
			d.NTS = ntsByAuth[i] || hasName(b.NTS, s.Name) || (d.Address.IsValid() && hasName(b.NTS, d.Address.String()))
			if d.NTS {
				d.NTSOptions = b.NTSOptions[canonicalName(s.Name)]
				if d.NTSOptions == "" && d.Address.IsValid() {
					d.NTSOptions = b.NTSOptions[canonicalName(d.Address.String())]
				}
			}
		}
		if !d.Refclock && d.Address.IsValid() && s.Has.Stats && s.Has.NTPData &&
			int(s.Stats.Samples) >= b.minSamples() {
			m := measurement(s, correction, common)
			if d.NTS {
				m.Auth = authNTS
			}
			d.Measurement = &m
		}
		out = append(out, d)
	}
	return out, nil
}

// poolOf returns the pool directive a source named name belongs to:
// chronyd names a pool's members by the pool's name.
func (b *Backend) poolOf(name string) string {
	for _, p := range b.Pools {
		if strings.EqualFold(p, name) {
			return p
		}
	}
	return ""
}
