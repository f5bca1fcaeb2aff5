package chronylive

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// auditionFake is chronyd on old1 and old2 auditioning new1 (answers),
// new2 (sends a kiss-o'-death DENY) and new3 (silent).
func auditionFake() *fakeChronyd {
	f := newFake(old1, old2)
	f.burst, f.answerAfter = true, 50*time.Millisecond
	f.kod[netip.MustParseAddr(new2)] = "DENY"
	f.silent[netip.MustParseAddr(new3)] = true
	return f
}

// TestAudition measures three candidates inside chronyd: each is added
// noselect with iburst, the answering one is measured on its 4 samples,
// the KoD ends its audition at once (deleted), the silent one counts its
// requests; the wait ends when every one is done, well inside the bound.
func TestAudition(t *testing.T) {
	f := auditionFake()
	b := backend(t, f)
	start := f.clock.Now()
	measured, skipped, err := b.Audition(context.Background(), []daemon.Server{server(new1), server(new2), server(new3)})
	require.NoError(t, err)
	require.Empty(t, skipped)
	require.LessOrEqual(t, f.clock.Now().Sub(start), 9*time.Second, "the wait ends with the bursts")

	for _, r := range f.added {
		require.NotZero(t, r.Flags&chronyctl.FlagNoSelect, "%s added noselect", r.Name)
		require.NotZero(t, r.Flags&chronyctl.FlagIBurst, "%s added with iburst", r.Name)
	}
	m1 := measured[netip.MustParseAddr(new1)]
	require.Equal(t, scoring.OriginChronyd, m1.Origin)
	require.Equal(t, 4, m1.SamplesOK)
	require.Equal(t, 4, m1.SamplesSent)
	require.InDelta(t, -0.0001, m1.Offset, 1e-12, "θ = correction − est_offset")
	require.InDelta(t, 0.0002, m1.Jitter, 1e-12)
	require.Empty(t, m1.ChronydState, "a noselect source's '?' says nothing about it")

	m2 := measured[netip.MustParseAddr(new2)]
	require.Equal(t, "DENY", m2.KoD)
	m3 := measured[netip.MustParseAddr(new3)]
	require.Zero(t, m3.SamplesOK)
	require.GreaterOrEqual(t, m3.SamplesSent, 4)

	require.Equal(t, sorted(new1, new3), f.noselect(), "the KoD ended new2's audition")

	// An unsynchronised server answers: chronyd keeps no sample and no
	// reach bit of it, but it is no silence.
	unsync := "198.51.100.4"
	f.unsync[netip.MustParseAddr(unsync)] = true
	measured, _, err = b.Audition(context.Background(), []daemon.Server{server(unsync)})
	require.NoError(t, err)
	m4 := measured[netip.MustParseAddr(unsync)]
	require.True(t, m4.Unsynchronized)
	require.Positive(t, m4.SamplesOK)
	require.Equal(t, 3, m4.Leap)
	require.Empty(t, m4.KoD)
	require.Equal(t, sorted(old1, old2, new1, new3, unsync), f.set())
}

// TestAuditionExisting leaves a source chronyd has alone.
func TestAuditionExisting(t *testing.T) {
	f := auditionFake()
	b := backend(t, f)
	_, skipped, err := b.Audition(context.Background(), []daemon.Server{server(old1), server(new1)})
	require.NoError(t, err)
	require.Contains(t, skipped[netip.MustParseAddr(old1)], "already a source")
	_, err = b.EndAudition(context.Background(), addrs(old1, new1))
	require.NoError(t, err)
	require.Equal(t, sorted(old1, old2), f.set())
}

// TestPromote promotes the winner and deletes the losers, on chronyd 4.4+
// (selectopts -noselect, the samples kept) and 4.3 (delete and re-add);
// the change goes through the usual wait, verification and sources file,
// and no noselect source remains. A failed verification rolls the winner
// back too.
func TestPromote(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old      bool // chrony 4.3
		noSelect bool // chronyd never selects a source: verification fails
		set      []string
	}{
		{name: "4.4+", set: sorted(old2, new1)},
		{name: "4.3", old: true, set: sorted(old2, new1)},
		{name: "4.4+ rolled back", noSelect: true, set: sorted(old1, old2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := auditionFake()
			f.noSelectOpts = tc.old
			b := backend(t, f)
			b.VerifyTimeout = 3 * time.Second
			ctx := context.Background()
			_, _, err := b.Audition(ctx, []daemon.Server{server(new1), server(new2), server(new3)})
			require.NoError(t, err)
			f.noSelect = tc.noSelect
			plan := daemon.Plan{Selected: []daemon.Server{server(old2), server(new1)}, Add: []daemon.Server{server(new1)},
				Remove: []daemon.Source{source(old1)}, Policy: daemon.PolicyConverge}
			applied, err := b.Apply(ctx, plan)
			require.NoError(t, err)
			require.Equal(t, tc.noSelect, applied.RolledBack)
			deleted, err := b.EndAudition(ctx, addrs(new1, new2, new3))
			require.NoError(t, err)
			require.Equal(t, tc.set, f.set())
			require.Empty(t, f.noselect())
			if tc.noSelect {
				return
			}
			require.Equal(t, addrs(new3), deleted, "only the loser still under audition")
			require.GreaterOrEqual(t, f.lowest(), 2, "chronyd never had fewer reachable sources than before")
			if tc.old {
				require.Empty(t, f.selectOpts)
				require.Contains(t, f.log(), "delete "+new1)
				last := f.added[len(f.added)-1]
				require.Equal(t, new1, last.Name)
				require.Zero(t, last.Flags&chronyctl.FlagNoSelect, "re-added as a normal source")
			} else {
				require.Equal(t, []string{new1 + " -noselect"}, f.selectOpts)
				require.Equal(t, 1, f.reselects)
				require.Len(t, f.bursts, 1, "one sample now, not a new iburst")
				require.Contains(t, f.bursts[0], "1/2")
				require.NotContains(t, f.log(), "delete "+new1)
			}
			data, err := b.File.Read()
			require.NoError(t, err)
			require.Contains(t, string(data), "server "+new1+" iburst")
			require.NotContains(t, string(data), "noselect")
		})
	}
}

// TestEndAuditionLeftovers is the next run's cleanup: a new backend
// (nothing in memory) deletes the listed addresses chronyd still has as
// noselect and keeps a listed one that was promoted.
func TestEndAuditionLeftovers(t *testing.T) {
	f := auditionFake()
	ctx := context.Background()
	_, _, err := backend(t, f).Audition(ctx, []daemon.Server{server(new1), server(new3)})
	require.NoError(t, err)
	require.NoError(t, f.ModifySelectOpts(ctx, chronyctl.AddrFromIP(netip.MustParseAddr(new1)), 0, chronyctl.SelectNoSelect))
	deleted, err := backend(t, f).EndAudition(ctx, addrs(new1, new3, old1))
	require.NoError(t, err)
	require.Equal(t, addrs(new3), deleted)
	require.Equal(t, sorted(old1, old2, new1), f.set())
}

// TestCanAudition refuses a chronyd that does not answer.
func TestCanAudition(t *testing.T) {
	f := auditionFake()
	require.Empty(t, backend(t, f).CanAudition(context.Background()))
	f.dead = true
	require.Contains(t, backend(t, f).CanAudition(context.Background()), "connection refused")
}
