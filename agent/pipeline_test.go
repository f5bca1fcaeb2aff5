package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
	"github.com/ntp-optimizer/ntp-optimizer/metrics"
	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// These tests run whole decisions with no network: the discoverer, the
// prober and the backend are fakes at the level of meaning.

const ms = time.Millisecond

// addr is the i-th test server, each in its own /24 with its own upstream.
func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i), 1}) }

// fakeBackend is an NTP daemon: its sources, and every plan it was given.
type fakeBackend struct {
	mu         sync.Mutex
	sources    []daemon.Source
	sourcesErr error
	apply      func(p daemon.Plan) (daemon.Applied, error) // nil: apply it
	plans      []daemon.Plan
	previews   int
}

func (b *fakeBackend) Name() string { return "fake" }

func (b *fakeBackend) Sources(context.Context) ([]daemon.Source, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sources), b.sourcesErr
}

func (b *fakeBackend) Apply(_ context.Context, p daemon.Plan) (daemon.Applied, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.plans = append(b.plans, p)
	if b.apply != nil {
		return b.apply(p)
	}
	for _, r := range p.Remove {
		b.sources = slices.DeleteFunc(b.sources, func(s daemon.Source) bool { return s.Address == r.Address })
	}
	for _, s := range p.Add {
		b.sources = append(b.sources, daemon.Source{Address: s.Address, Port: s.Port, Name: s.Name, ID: s.Address.String()})
	}
	return daemon.Applied{Added: p.Add, Removed: p.Remove}, nil
}

func (b *fakeBackend) Preview(daemon.Plan) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.previews++
	return "", nil
}

// chronydSource is a current source chronyd has measured well.
func chronydSource(i int) daemon.Source {
	a := addr(i)
	return daemon.Source{Address: a, Port: 123, Name: a.String(), ID: a.String(), Reach: 0xFF, HasReach: true,
		Measurement: &scoring.Measurement{
			Origin: scoring.OriginChronyd, Address: a, Port: 123, Name: a.String(), Offset: 0.0005, Delay: 0.004,
			Jitter: 0.0002, RootDelay: 0.01, RootDispersion: 0.001, Stratum: 2, RefIDRaw: uint32(0xc0000200 + i),
			RefID: fmt.Sprintf("192.0.2.%d", i), SamplesSent: 8, SamplesOK: 8, ChronydState: scoring.StateSelected}}
}

// fakeDiscoverer offers the daemon's sources and a fixed list.
type fakeDiscoverer struct{ list []int }

func (d *fakeDiscoverer) Discover(_ context.Context, _ discovery.Config, current []discovery.Source) (discovery.Result, error) {
	var res discovery.Result
	for _, c := range current {
		res.Candidates = append(res.Candidates, discovery.Candidate{Name: c.Name, Port: 123, Origin: discovery.OriginChronyd})
	}
	for _, i := range d.list {
		res.Candidates = append(res.Candidates, discovery.Candidate{Name: addr(i).String(), Port: 123, Origin: discovery.OriginServers})
	}
	return res, nil
}

// fakeProber answers from a table by address; every address it is asked
// about goes through the run's Skip first, as the real prober's do.
type fakeProber struct {
	mu      sync.Mutex
	results map[netip.Addr]prober.Result
	probed  []netip.Addr
	skipped map[netip.Addr]string
	before  func(netip.Addr) // when set, called before an address is probed
}

func (p *fakeProber) Probe(_ context.Context, targets []prober.Target, opt prober.RunOptions) ([]prober.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []prober.Result
	for _, t := range targets {
		a := netip.MustParseAddr(t.Name)
		if opt.Skip != nil {
			if why := opt.Skip(netip.AddrPortFrom(a, 123)); why != "" {
				p.skipped[a] = why
				out = append(out, prober.Result{Server: t.Name, Address: a, Port: 123, Skipped: why})
				continue
			}
		}
		if p.before != nil {
			p.before(a)
		}
		p.probed = append(p.probed, a)
		r, ok := p.results[a]
		if !ok {
			r = prober.Result{SamplesSent: 4, Err: "no usable reply"}
		}
		r.Server, r.Address, r.Port = t.Name, a, 123
		out = append(out, r)
	}
	return out, nil
}

// good is a healthy server's probe: stratum 2, 5 ms away, 0.2 ms jitter.
func good(i int) prober.Result {
	return prober.Result{Offset: ms / 2, Delay: 5 * ms, Stratum: 2, RefID: fmt.Sprintf("198.51.100.%d", i),
		RootDelay: 10 * ms, RootDispersion: ms, Jitter: 200 * time.Microsecond, SamplesSent: 4, SamplesOK: 4, Reach: 1}
}

// fakeNotifier records what it was told. Its mutex: runs serialised by
// the run lock (flock) have no happens-before edge the race detector sees.
type fakeNotifier struct {
	mu       sync.Mutex
	outcomes []notify.Outcome
	err      error
}

func (n *fakeNotifier) Notify(_ context.Context, st notify.State, o notify.Outcome) (notify.State, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.outcomes = append(n.outcomes, o)
	st.Failures++
	return st, n.err
}

// fakeMetrics records the runs written; locked like fakeNotifier.
type fakeMetrics struct {
	mu   sync.Mutex
	runs []metrics.Run
}

func (m *fakeMetrics) Write(r metrics.Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs = append(m.runs, r)
	return nil
}

type env struct {
	a        *agent.Agent
	backend  *fakeBackend
	prober   *fakeProber
	notifier *fakeNotifier
	metrics  *fakeMetrics
	clock    *clocktest.Stepper
}

// newEnv: the daemon has servers 1 and 2 (measured by it), the lists offer
// 3..6, all good but 6, which does not answer.
func newEnv(t *testing.T) *env {
	e := &env{
		backend:  &fakeBackend{sources: []daemon.Source{chronydSource(1), chronydSource(2)}},
		prober:   &fakeProber{results: map[netip.Addr]prober.Result{}, skipped: map[netip.Addr]string{}},
		notifier: &fakeNotifier{},
		metrics:  &fakeMetrics{},
		clock:    clocktest.NewStepper(time.Date(2033, 7, 8, 9, 10, 11, 0, time.UTC)),
	}
	for i := 1; i <= 5; i++ {
		e.prober.results[addr(i)] = good(i)
	}
	e.a = &agent.Agent{
		Settings:   agent.Settings{Scoring: scoring.DefaultConfig(), Policy: daemon.PolicyConverge, HistoryRetention: 24 * time.Hour},
		Backend:    e.backend,
		Discoverer: &fakeDiscoverer{list: []int{3, 4, 5, 6}},
		Prober:     e.prober,
		Store:      &agent.Store{Dir: filepath.Join(t.TempDir(), "state"), Logger: zerolog.Nop(), Clock: e.clock},
		Notifier:   e.notifier,
		Metrics:    e.metrics,
		Log:        zerolog.New(zerolog.NewTestWriter(t)),
		Clock:      e.clock,
	}
	return e
}

func TestRunFillsTheSet(t *testing.T) {
	e := newEnv(t)
	before, storeBefore := *e.a, *e.a.Store
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeApplied, rep.Outcome)
	require.Len(t, e.backend.plans, 1)
	p := e.backend.plans[0]
	require.Len(t, p.Selected, 4, "set_size 4")
	require.Len(t, p.Add, 2, "the two empty slots are filled")
	require.Empty(t, p.Remove, "healthy current members stay")
	require.NotContains(t, p.Add, daemon.Server{Address: addr(6), Port: 123, Name: addr(6).String()}, "6 never answered")

	// chronyd's own measurements are used, its sources not probed.
	require.Equal(t, map[netip.Addr]string{addr(1): "measured by fake", addr(2): "measured by fake"}, e.prober.skipped)
	require.NotContains(t, e.prober.probed, addr(1))

	// The record stage: state, history, notification, metrics.
	st, moved, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Empty(t, moved)
	require.Equal(t, agent.Counters{Runs: 1, Changes: 1}, st.Counters)
	require.Len(t, st.Managed, 2)
	require.Equal(t, rep.RunID, st.LastRun.RunID)
	require.Equal(t, 1, st.Notify.Failures, "the notifier's state is kept")
	require.Len(t, e.notifier.outcomes, 1)
	require.Nil(t, e.notifier.outcomes[0].Failure)
	require.Len(t, e.notifier.outcomes[0].Added, 2)
	require.Contains(t, e.notifier.outcomes[0].Summary, "applied: 2 added, 0 removed")
	require.Len(t, e.metrics.runs, 1)
	require.True(t, e.metrics.runs[0].Success)
	runs, err := e.a.Store.LoadHistory(time.Time{})
	require.NoError(t, err)
	require.Len(t, runs, 1)

	require.Equal(t, before, *e.a, "Run changes none of the agent's fields")
	require.Equal(t, storeBefore, *e.a.Store, "nor the store's")

	// The next run finds nothing to do.
	rep, err = e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeUnchanged, rep.Outcome)
	require.Len(t, e.backend.plans, 2, "an unchanged set still goes to the backend, to persist it")
	require.Empty(t, e.backend.plans[1].Add)
}

func TestRunDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	rep, err := e.a.Run(t.Context(), agent.Options{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeDryRun, rep.Outcome)
	require.True(t, rep.Changed)
	require.Len(t, rep.Added, 2)
	require.Empty(t, e.backend.plans)
	require.Equal(t, 1, e.backend.previews)
	require.Empty(t, e.notifier.outcomes)
	require.Empty(t, e.metrics.runs)
	_, err = os.Stat(e.a.Store.Dir)
	require.True(t, os.IsNotExist(err), "no state directory")
}

func TestRunNoUsable(t *testing.T) {
	e := newEnv(t)
	e.backend.sources = nil
	for i := 3; i <= 6; i++ {
		r := good(i)
		r.Stratum, r.Unsynchronized = 16, true // they answer: no outage, but none is usable
		e.prober.results[addr(i)] = r
	}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, agent.ErrNoUsable)
	require.Equal(t, agent.OutcomeNoUsable, rep.Outcome)
	require.Empty(t, e.backend.plans, "nothing to apply")
	require.Equal(t, notify.ErrorNoUsable, e.notifier.outcomes[0].Failure.Kind)
	require.False(t, e.metrics.runs[0].Success)
}

func TestRunRolledBack(t *testing.T) {
	e := newEnv(t)
	e.backend.apply = func(daemon.Plan) (daemon.Applied, error) {
		return daemon.Applied{RolledBack: true, Reason: "new sources did not answer within 20s: 10.0.3.1"}, nil
	}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, daemon.ErrRolledBack)
	require.EqualError(t, err, "the change was rolled back: new sources did not answer within 20s: 10.0.3.1")
	require.Equal(t, agent.OutcomeRolledBack, rep.Outcome)
	require.True(t, rep.RolledBack)
	require.Empty(t, rep.Added, "nothing was added in the end")
	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Equal(t, agent.Counters{Runs: 1, Rollbacks: 1}, st.Counters)
	require.Empty(t, st.Managed)
	require.Equal(t, notify.ErrorRolledBack, e.notifier.outcomes[0].Failure.Kind)
	require.Nil(t, e.notifier.outcomes[0].Added, "a failure lists no changes")
}

func TestRunDaemonFails(t *testing.T) {
	e := newEnv(t)
	e.backend.sourcesErr = errors.New("reading chronyd's sources: connection refused")
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.EqualError(t, err, "reading chronyd's sources: connection refused")
	require.Equal(t, agent.OutcomeFailed, rep.Outcome)
	require.Empty(t, e.prober.probed, "nothing measured")
	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Equal(t, agent.Counters{Runs: 1, Failures: 1}, st.Counters, "a failed run is recorded")
	require.Equal(t, notify.ErrorFailed, e.notifier.outcomes[0].Failure.Kind)
}

func TestRunNotificationFailureIsAWarning(t *testing.T) {
	e := newEnv(t)
	e.notifier.err = errors.New("webhook notification (change): 502 Bad Gateway")
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeApplied, rep.Outcome)
	require.Contains(t, rep.Warnings, "notification: webhook notification (change): 502 Bad Gateway")
}

func TestRunLocked(t *testing.T) {
	e := newEnv(t)
	e.a.LockWait = 50 * ms
	held, err := e.a.Store.Lock(t.Context(), 0)
	require.NoError(t, err)
	defer held.Unlock()
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, agent.ErrLocked)
	require.Nil(t, rep)
	require.Empty(t, e.backend.plans)
}
