package chronylive

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

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// The sources of the tests: chronyd starts on old1 and old2; the plan
// replaces them with new1..new3.
const (
	old1, old2       = "192.0.2.1", "192.0.2.2"
	new1, new2, new3 = "198.51.100.1", "198.51.100.2", "198.51.100.3"
)

var errRefused = errors.New("chronyd: failure")

func server(a string) daemon.Server {
	return daemon.Server{Address: netip.MustParseAddr(a), Port: 123, Name: "ntp-" + a}
}

func source(a string) daemon.Source {
	return daemon.Source{Address: netip.MustParseAddr(a), Port: 123, Name: a, ID: a}
}

// replace is the plan: add new1..new3, remove old1 and old2.
func replace() daemon.Plan {
	return daemon.Plan{
		Selected: []daemon.Server{server(new1), server(new2), server(new3)},
		Add:      []daemon.Server{server(new1), server(new2), server(new3)},
		Remove:   []daemon.Source{source(old1), source(old2)},
		Policy:   daemon.PolicyConverge,
	}
}

func backend(t *testing.T, f *fakeChronyd) *Backend {
	return &Backend{Client: f, Clock: f.clock, Log: zerolog.New(zerolog.NewTestWriter(t)),
		Config: Config{SourceOptions: "iburst"},
		File:   &SourcesFile{Path: filepath.Join(t.TempDir(), "sources.d", SourcesFileName)}}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// TestApplyFailures fails every step of a change in turn. Each case says
// what chronyd's set is afterwards; in every case chronyd never had fewer
// reachable sources than the two it started with, and no old source was
// deleted before every new one had answered.
func TestApplyFailures(t *testing.T) {
	before := sorted(old1, old2)
	for _, tc := range []struct {
		name   string
		fault  func(f *fakeChronyd)
		set    []string // chronyd's sources afterwards
		rolled bool     // reported as rolled back
		err    string   // Apply's error ("" none)
		reason string   // the rollback's reason
		file   bool     // the sources file was written
	}{
		{name: "success", set: sorted(new1, new2, new3), file: true},
		{name: "add fails on the 1st of 3", fault: func(f *fakeChronyd) { f.failAdd[1] = errRefused },
			set: before, err: "adding 198.51.100.1: chronyd: failure"},
		{name: "add fails on the 2nd of 3", fault: func(f *fakeChronyd) { f.failAdd[2] = errRefused },
			set: before, rolled: true, reason: "adding 198.51.100.2: chronyd: failure"},
		{name: "delete fails", fault: func(f *fakeChronyd) { f.failDelete[netip.MustParseAddr(old2)] = errRefused },
			set: before, rolled: true, reason: "removing 192.0.2.2: chronyd: failure"},
		{name: "new sources never answer", fault: func(f *fakeChronyd) {
			f.silent[netip.MustParseAddr(new2)] = true
			f.silent[netip.MustParseAddr(new3)] = true
		}, set: before, rolled: true, reason: "new sources did not answer within 20s: 198.51.100.2, 198.51.100.3"},
		{name: "a new source answers but chronyd finds it a falseticker", fault: func(f *fakeChronyd) {
			f.falseticker[netip.MustParseAddr(new2)] = true
		}, set: before, rolled: true, reason: "new sources answered but chronyd did not find them selectable within 20s: 198.51.100.2 (x)"},
		{name: "verification times out", fault: func(f *fakeChronyd) { f.noSelect = true },
			set: before, rolled: true, reason: "verification failed after 1m0s: chronyd has not selected a reachable source"},
		{name: "leap status not normal", fault: func(f *fakeChronyd) { f.leap = chronyctl.LeapNotSynchronised },
			set: before, rolled: true, reason: "verification failed after 1m0s: chronyd's leap status is Not synchronised"},
		{name: "chronyd dies after two adds", fault: func(f *fakeChronyd) { f.dieAfter = 2 },
			set: sorted(old1, old2, new1, new2), rolled: true, reason: "adding 198.51.100.3: " + errDead.Error(),
			err: "the change was rolled back: adding 198.51.100.3: " + errDead.Error() + "; and the rollback failed: " +
				"removing 198.51.100.1: " + errDead.Error() + "\nremoving 198.51.100.2: " + errDead.Error()},
		{name: "rollback fails", fault: func(f *fakeChronyd) {
			f.noSelect = true
			f.failDelete[netip.MustParseAddr(new2)] = errRefused
		}, set: sorted(old1, old2, new2), rolled: true,
			reason: "verification failed after 1m0s: chronyd has not selected a reachable source",
			err:    "the change was rolled back: verification failed after 1m0s: chronyd has not selected a reachable source; and the rollback failed: removing 198.51.100.2: chronyd: failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(old1, old2)
			if tc.fault != nil {
				tc.fault(f)
			}
			b := backend(t, f)
			res, err := b.Apply(t.Context(), replace())
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tc.err)
				if tc.rolled {
					require.ErrorIs(t, err, daemon.ErrRolledBack)
				}
			}
			require.Equal(t, tc.set, f.set(), "chronyd's sources afterwards")
			require.Equal(t, tc.rolled, res.RolledBack)
			require.Equal(t, tc.reason, res.Reason)
			require.GreaterOrEqual(t, f.lowest(), 2, "chronyd never had fewer reachable sources than before: %v", f.log())
			requireAddsBeforeDeletes(t, f.log())
			_, serr := os.Stat(b.File.Path)
			require.Equal(t, tc.file, serr == nil, "sources file written: %v", serr)
			if !tc.rolled && tc.err == "" {
				require.Len(t, res.Added, 3)
				require.Len(t, res.Removed, 2)
			} else {
				require.Empty(t, res.Added, "a failed change reports nothing added")
				require.Empty(t, res.Removed)
			}
		})
	}
}

// requireAddsBeforeDeletes: within the change itself, every add of a new
// source comes before the first delete of an old one (the rollback's own
// re-adds and deletes follow the change's steps).
func requireAddsBeforeDeletes(t *testing.T, calls []string) {
	t.Helper()
	firstOldDelete := slices.IndexFunc(calls, func(c string) bool {
		return c == "delete "+old1 || c == "delete "+old2
	})
	if firstOldDelete < 0 {
		return
	}
	for _, n := range []string{new1, new2, new3} {
		if i := slices.Index(calls, "add "+n); i > firstOldDelete {
			t.Fatalf("%s was added after an old source was deleted: %v", n, calls)
		}
	}
}

// TestApplyWaitsForAnswers: a new source that answers late (8 s, within
// the 20 s answer timeout) holds the deletes back until it has; the wait
// is measured on the backend's clock.
func TestApplyWaitsForAnswers(t *testing.T) {
	f := newFake(old1, old2)
	f.answerAfter = 8 * time.Second
	b := backend(t, f)
	start := f.clock.Now()
	res, err := b.Apply(t.Context(), replace())
	require.NoError(t, err)
	require.False(t, res.RolledBack)
	waited := f.clock.Now().Sub(start)
	require.GreaterOrEqual(t, waited, 8*time.Second)
	require.Less(t, waited, 9*time.Second, "polled every %v", pollEvery)
	require.GreaterOrEqual(t, f.lowest(), 2)
	require.Equal(t, sorted(new1, new2, new3), f.set())
}

// TestApplyAnswerTimeoutIsBounded: silent sources are given up after
// AnswerTimeout, not later.
func TestApplyAnswerTimeoutIsBounded(t *testing.T) {
	f := newFake(old1, old2)
	f.silent[netip.MustParseAddr(new1)] = true
	b := backend(t, f)
	b.AnswerTimeout = 5 * time.Second
	start := f.clock.Now()
	res, err := b.Apply(t.Context(), replace())
	require.NoError(t, err)
	require.True(t, res.RolledBack)
	waited := f.clock.Now().Sub(start)
	require.GreaterOrEqual(t, waited, 5*time.Second)
	require.Less(t, waited, 5*time.Second+2*pollEvery)
	require.Equal(t, sorted(old1, old2), f.set())
}

// TestApplyCancelledStillRollsBack: a run cancelled while it waits for
// the new sources undoes what it added.
func TestApplyCancelledStillRollsBack(t *testing.T) {
	f := newFake(old1, old2)
	f.silent[netip.MustParseAddr(new1)] = true
	b := backend(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := replace()
	p.Add, p.Selected = p.Add[:1], p.Selected[:1]
	// The fake takes the add; the wait for its answer notices the end.
	res, err := b.Apply(ctx, p)
	require.NoError(t, err)
	require.True(t, res.RolledBack)
	require.Contains(t, res.Reason, "context canceled")
	require.Equal(t, sorted(old1, old2), f.set())
}

// TestApplyTolerates: a source chronyd already has is not added twice (nor
// undone), and one that went away meanwhile is not an error.
func TestApplyTolerates(t *testing.T) {
	f := newFake(old1, old2, new1)
	b := backend(t, f)
	p := replace()
	p.Remove = append(p.Remove, source("203.0.113.9"))
	res, err := b.Apply(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, []daemon.Server{server(new2), server(new3)}, res.Added)
	require.Equal(t, []daemon.Source{source(old1), source(old2)}, res.Removed)
	require.Equal(t, sorted(new1, new2, new3), f.set())
}

// TestApplyOptions: the configured options reach chronyd and the file;
// bad ones are refused before anything changes.
func TestApplyOptions(t *testing.T) {
	f := newFake(old1, old2)
	b := backend(t, f)
	b.SourceOptions = "iburst prefer"
	_, err := b.Apply(t.Context(), replace())
	require.NoError(t, err)
	f.mu.Lock()
	flags := f.sources[0].flags
	f.mu.Unlock()
	require.Equal(t, chronyctl.FlagOnline|chronyctl.FlagIBurst|chronyctl.FlagPrefer, flags)
	data, err := os.ReadFile(b.File.Path)
	require.NoError(t, err)
	require.Contains(t, string(data), "server "+new1+" iburst prefer\n")

	f = newFake(old1, old2)
	b = backend(t, f)
	b.SourceOptions = "iburst colour"
	_, err = b.Apply(t.Context(), replace())
	require.EqualError(t, err, `adding 198.51.100.1: source options "iburst colour": unknown or unsupported chrony option "colour"`)
	require.Equal(t, sorted(old1, old2), f.set())
}

// TestApplyWithoutFile: with no persistent sourcedir the change is live
// and the run says it will not survive a restart.
func TestApplyWithoutFile(t *testing.T) {
	f := newFake(old1, old2)
	b := backend(t, f)
	b.File, b.NoFile = nil, "no persistent `sourcedir` in /etc/chrony/chrony.conf"
	res, err := b.Apply(t.Context(), replace())
	require.NoError(t, err)
	require.Len(t, res.Warnings, 1)
	require.True(t, strings.HasPrefix(res.Warnings[0], "the selected sources will not survive a chronyd restart: no persistent"))
}

// TestSources: chronyd's statistics replace a probe once it holds enough
// samples; a refclock has no address.
func TestSources(t *testing.T) {
	f := newFake(old1, old2)
	f.sources[1].samples = 2
	b := backend(t, f)
	srcs, err := b.Sources(t.Context())
	require.NoError(t, err)
	require.Len(t, srcs, 2)
	require.NotNil(t, srcs[0].Measurement)
	m := srcs[0].Measurement
	require.Equal(t, 0.0002, m.Jitter)
	require.Equal(t, 2, m.Stratum)
	require.Equal(t, "192.0.2.1", m.RefID)
	require.Equal(t, 8, m.SamplesOK)
	require.Nil(t, srcs[1].Measurement, "2 samples: probe it")

	f.dead = true
	_, err = b.Sources(t.Context())
	require.ErrorIs(t, err, errDead)
	require.ErrorContains(t, err, "reading chronyd's sources: ")
}
