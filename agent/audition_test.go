package agent_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// fakeAuditioner is fakeBackend that auditions: an auditioned address is
// a noselect source (under) until Apply promotes it or EndAudition
// deletes it. Its measurements are the prober's table as chronyd would
// report them.
type fakeAuditioner struct {
	*fakeBackend
	table      map[netip.Addr]prober.Result
	cannot     string
	auditioned [][]netip.Addr
	under      map[netip.Addr]bool
	promoted   []netip.Addr
	ended      [][]netip.Addr
	calls      []string // "audition", "end", "sources", "apply" in order
	failAudit  error
	failEnd    error
	onAudition func() // called once the servers are under audition
}

func newAuditioner(b *fakeBackend, table map[netip.Addr]prober.Result) *fakeAuditioner {
	return &fakeAuditioner{fakeBackend: b, table: table, under: map[netip.Addr]bool{}}
}

func (f *fakeAuditioner) CanAudition(context.Context) string { return f.cannot }

func (f *fakeAuditioner) Sources(ctx context.Context) ([]daemon.Source, error) {
	f.calls = append(f.calls, "sources")
	srcs, err := f.fakeBackend.Sources(ctx)
	for a := range f.under {
		srcs = append(srcs, daemon.Source{Address: a, Port: 123, Name: a.String(), ID: a.String(), HasReach: true, Reach: 0xF})
	}
	return srcs, err
}

func (f *fakeAuditioner) Audition(_ context.Context, servers []daemon.Server) (map[netip.Addr]scoring.Measurement,
	map[netip.Addr]string, error) {
	f.calls = append(f.calls, "audition")
	var as []netip.Addr
	out := map[netip.Addr]scoring.Measurement{}
	for _, s := range servers {
		as = append(as, s.Address)
		f.under[s.Address] = true
		r, ok := f.table[s.Address]
		m := scoring.Measurement{Origin: scoring.OriginChronyd, Address: s.Address, Port: s.Port, Name: s.Address.String(),
			SamplesSent: 4}
		if ok {
			m.Offset, m.Delay, m.Jitter = r.Offset.Seconds(), r.Delay.Seconds(), r.Jitter.Seconds()
			m.RootDelay, m.RootDispersion, m.Stratum, m.RefID = r.RootDelay.Seconds(), r.RootDispersion.Seconds(), int(r.Stratum), r.RefID
			m.SamplesOK, m.KoD = r.SamplesOK, r.KoD
		}
		out[s.Address] = m
	}
	f.auditioned = append(f.auditioned, as)
	if f.onAudition != nil {
		f.onAudition()
	}
	if f.failAudit != nil {
		return nil, nil, f.failAudit
	}
	return out, nil, nil
}

func (f *fakeAuditioner) Apply(ctx context.Context, p daemon.Plan) (daemon.Applied, error) {
	f.calls = append(f.calls, "apply")
	for _, s := range p.Add {
		if f.under[s.Address] {
			delete(f.under, s.Address)
			f.promoted = append(f.promoted, s.Address)
		}
	}
	applied, err := f.fakeBackend.Apply(ctx, p)
	if applied.RolledBack {
		// The rollback deletes what it added, promoted winners too.
		f.fakeBackend.sources = slices.DeleteFunc(f.fakeBackend.sources, func(d daemon.Source) bool {
			return slices.Contains(f.promoted, d.Address)
		})
	}
	return applied, err
}

func (f *fakeAuditioner) EndAudition(_ context.Context, addrs []netip.Addr) ([]netip.Addr, error) {
	f.calls = append(f.calls, "end")
	f.ended = append(f.ended, addrs)
	if f.failEnd != nil {
		return nil, f.failEnd
	}
	var deleted []netip.Addr
	for _, a := range addrs {
		if f.under[a] {
			delete(f.under, a)
			deleted = append(deleted, a)
		}
	}
	return deleted, nil
}

func auditionEnv(t *testing.T) (*env, *fakeAuditioner) {
	e := newEnv(t)
	au := newAuditioner(e.backend, e.prober.results)
	e.a.Backend = au
	return e, au
}

// TestAuditionRun: the new candidates 3..6 are auditioned inside the
// daemon, not probed; the winners are promoted by the apply, the losers
// deleted after it; the decision is the one the probe makes of the same
// measurements; nothing is left under audition, in the daemon or the
// state.
func TestAuditionRun(t *testing.T) {
	probed := newEnv(t)
	prep, err := probed.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)

	e, au := auditionEnv(t)
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeApplied, rep.Outcome)
	require.Empty(t, e.prober.probed, "nothing probed")
	require.Equal(t, [][]netip.Addr{{addr(3), addr(4), addr(5), addr(6)}}, au.auditioned)
	require.Equal(t, prep.Selected, rep.Selected, "the same set as the probe's")
	require.Equal(t, e.backend.plans[0].Add, probed.backend.plans[0].Add)
	require.Len(t, au.promoted, 2)
	require.Empty(t, au.under, "nothing left under audition")
	require.Equal(t, []string{"sources", "audition", "apply", "end"}, au.calls)
	require.Contains(t, rep.Notes, "auditioned 4 new address(es) inside fake (noselect): 3 answered")
	require.Contains(t, rep.Notes, "deleted 2 auditioned source(s) that were not selected")
	for _, c := range rep.Candidates {
		if c.Address == addr(6) {
			require.Equal(t, scoring.Rejected, c.Verdict, "the silent audition")
		}
	}
	st, _, err := e.a.Store.PeekState()
	require.NoError(t, err)
	require.Empty(t, st.Auditions)
	require.Len(t, st.Managed, 2)
}

// TestAuditionProbesBeside: a source of the daemon that needs a probe (too
// young to be measured) is probed while the daemon auditions, not before
// it: the run waits for one burst, not for a probe and then a burst.
func TestAuditionProbesBeside(t *testing.T) {
	e, au := auditionEnv(t)
	young := addr(2)
	e.backend.sources[1] = daemon.Source{Address: young, Port: 123, Name: young.String(), ID: young.String(), Reach: 1, HasReach: true}
	auditioning := make(chan struct{})
	au.onAudition = func() { close(auditioning) }
	e.prober.before = func(a netip.Addr) {
		if a != young {
			return
		}
		select {
		case <-auditioning:
		case <-time.After(5 * time.Second):
			t.Errorf("%s was probed before the audition began", a)
		}
	}
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeApplied, rep.Outcome)
	require.Equal(t, []netip.Addr{young}, e.prober.probed, "only the young source is probed")
	require.Equal(t, [][]netip.Addr{{addr(3), addr(4), addr(5), addr(6)}}, au.auditioned)
}

// TestAuditionNotUsed: a dry run, probe mode, a daemon that cannot, a
// probe spacing over 2 s, and an operator asking for 4 s (that candidate
// alone) are probed; chronyd mode says why it probed.
func TestAuditionNotUsed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(e *env, au *fakeAuditioner)
		dry     bool
		probed  []netip.Addr
		warning string
	}{
		{name: "dry run", dry: true, probed: []netip.Addr{addr(3), addr(4), addr(5), addr(6)}},
		{name: "probe", set: func(e *env, _ *fakeAuditioner) { e.a.Measure = agent.MeasureProbe },
			probed: []netip.Addr{addr(3), addr(4), addr(5), addr(6)}},
		{name: "cannot, chronyd mode", set: func(e *env, au *fakeAuditioner) {
			e.a.Measure, au.cannot = agent.MeasureChronyd, "chronyd is reached over its read-only UDP port"
		}, probed: []netip.Addr{addr(3), addr(4), addr(5), addr(6)},
			warning: "testing.measure chronyd: chronyd is reached over its read-only UDP port: the new candidates were probed instead"},
		{name: "spacing", set: func(e *env, _ *fakeAuditioner) { e.a.Spacing = 4 * time.Second },
			probed: []netip.Addr{addr(3), addr(4), addr(5), addr(6)}},
		{name: "operator spacing", set: func(e *env, _ *fakeAuditioner) {
			e.a.Discoverer = &spacedDiscoverer{fakeDiscoverer{list: []int{3, 4, 5, 6}}, addr(4)}
		}, probed: []netip.Addr{addr(4)}},
		{name: "max_servers_to_test", set: func(e *env, _ *fakeAuditioner) { e.a.Discovery.MaxCandidates = 3 },
			probed: []netip.Addr{addr(6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, au := auditionEnv(t)
			if tc.set != nil {
				tc.set(e, au)
			}
			rep, err := e.a.Run(t.Context(), agent.Options{DryRun: tc.dry})
			require.NoError(t, err)
			require.Equal(t, tc.probed, e.prober.probed)
			if len(tc.probed) == 4 {
				require.Empty(t, au.auditioned, "nothing auditioned")
			}
			if tc.warning != "" {
				require.Contains(t, rep.Warnings, tc.warning)
			}
			require.Empty(t, au.under)
		})
	}
}

// spacedDiscoverer is fakeDiscoverer with one candidate whose operator
// asks for 4 s between packets.
type spacedDiscoverer struct {
	fakeDiscoverer
	spaced netip.Addr
}

func (d *spacedDiscoverer) Discover(ctx context.Context, cfg discovery.Config, cur []discovery.Source) (discovery.Result, error) {
	res, err := d.fakeDiscoverer.Discover(ctx, cfg, cur)
	for i := range res.Candidates {
		if res.Candidates[i].Name == d.spaced.String() {
			res.Candidates[i].MinSpacing = 4 * time.Second
		}
	}
	return res, err
}

// TestAuditionKilled: the state written before the audition began names
// the auditioned addresses; a run killed then (SIGKILL: nothing else
// happens) leaves them in the daemon; the next run deletes them before
// anything else, then runs as usual.
func TestAuditionKilled(t *testing.T) {
	e, au := auditionEnv(t)
	stateFile := filepath.Join(e.a.Store.Dir, "state.json")
	var written []byte
	au.onAudition = func() {
		var err error
		written, err = os.ReadFile(stateFile)
		require.NoError(t, err)
	}
	_, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	for _, i := range []int{3, 4, 5, 6} {
		require.Contains(t, string(written), `"`+addr(i).String()+`"`, "recorded before it was added")
	}

	// The kill: the state as it was written ahead, the daemon with the
	// auditioned sources still noselect.
	e2, au2 := auditionEnv(t)
	require.NoError(t, os.MkdirAll(e2.a.Store.Dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(e2.a.Store.Dir, "state.json"), written, 0o600))
	for _, i := range []int{3, 4, 5, 6} {
		au2.under[addr(i)] = true
	}
	rep, err := e2.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"end", "sources", "audition", "apply", "end"}, au2.calls, "the leftovers go first")
	require.Equal(t, []netip.Addr{addr(3), addr(4), addr(5), addr(6)}, au2.ended[0])
	require.Contains(t, rep.Notes, "deleted 4 source(s) an earlier run left under audition")
	require.Empty(t, au2.under)
	st, _, err := e2.a.Store.PeekState()
	require.NoError(t, err)
	require.Empty(t, st.Auditions)

	// A dry run with leftovers neither deletes nor counts them.
	e3, au3 := auditionEnv(t)
	require.NoError(t, os.MkdirAll(e3.a.Store.Dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(e3.a.Store.Dir, "state.json"), written, 0o600))
	au3.under[addr(3)] = true
	rep, err = e3.a.Run(t.Context(), agent.Options{DryRun: true})
	require.NoError(t, err)
	require.NotContains(t, au3.calls, "end")
	require.True(t, au3.under[addr(3)])
	require.Contains(t, rep.Notes, "1 source(s) an earlier run left under audition are not counted: the next apply deletes them")

	// apply --cleanup.
	crep, err := e3.a.Cleanup(t.Context())
	require.NoError(t, err)
	require.Empty(t, au3.under)
	require.Contains(t, crep.Notes, "deleted 1 source(s) an earlier run left under audition")
	st, _, err = e3.a.Store.PeekState()
	require.NoError(t, err)
	require.Empty(t, st.Auditions)
}

// TestAuditionFailures: whatever ends the run — a rollback, the audition
// failing, a cancelled run — the auditioned sources are deleted; when
// they cannot be, the record stays for the next run.
func TestAuditionFailures(t *testing.T) {
	t.Run("rolled back", func(t *testing.T) {
		e, au := auditionEnv(t)
		e.backend.apply = func(daemon.Plan) (daemon.Applied, error) {
			return daemon.Applied{RolledBack: true, Reason: "verification failed"}, nil
		}
		_, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorIs(t, err, daemon.ErrRolledBack)
		require.Empty(t, au.under)
	})
	t.Run("audition fails", func(t *testing.T) {
		e, au := auditionEnv(t)
		au.failAudit = errors.New("chronyd: connection refused")
		_, err := e.a.Run(t.Context(), agent.Options{})
		require.ErrorContains(t, err, "auditioning the candidates: chronyd: connection refused")
		require.Empty(t, au.under)
		require.Empty(t, e.backend.plans)
	})
	t.Run("cancelled", func(t *testing.T) {
		e, au := auditionEnv(t)
		ctx, cancel := context.WithCancel(t.Context())
		au.onAudition = cancel
		au.failAudit = context.Canceled
		_, err := e.a.Run(ctx, agent.Options{})
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, au.under, "deleted despite the cancellation")
	})
	t.Run("cannot delete", func(t *testing.T) {
		e, au := auditionEnv(t)
		au.failEnd = errors.New("chronyd: connection refused")
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.True(t, slices.ContainsFunc(rep.Warnings, func(w string) bool {
			return strings.Contains(w, "could not all be deleted (the next run deletes them)")
		}))
		st, _, err := e.a.Store.PeekState()
		require.NoError(t, err)
		require.Len(t, st.Auditions, 4, "kept for the next run")
		// The next run cannot delete them either: it changes nothing.
		_, err = e.a.Run(t.Context(), agent.Options{})
		require.ErrorContains(t, err, "deleting the sources an earlier run left under audition")
	})
}

// TestAuditionDeafDaemon: chronyd heard none of its sources at its
// latest polls (an outage): the run probes, and decides as probe mode.
func TestAuditionDeafDaemon(t *testing.T) {
	silent := func(e *env) {
		for i := range e.backend.sources {
			m := *e.backend.sources[i].Measurement
			m.SamplesOK = 0
			e.backend.sources[i].Measurement, e.backend.sources[i].Reach = &m, 0
		}
	}
	probed := newEnv(t)
	silent(probed)
	_, perr := probed.a.Run(t.Context(), agent.Options{})
	e, au := auditionEnv(t)
	silent(e)
	_, err := e.a.Run(t.Context(), agent.Options{})
	require.Empty(t, au.auditioned)
	require.Equal(t, perr == nil, err == nil, "%v / %v", perr, err)
	require.Len(t, e.backend.plans, len(probed.backend.plans))
	if len(probed.backend.plans) > 0 {
		require.Equal(t, probed.backend.plans[0].Add, e.backend.plans[0].Add)
		require.Equal(t, probed.backend.plans[0].Remove, e.backend.plans[0].Remove)
	}
}
