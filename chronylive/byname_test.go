package chronylive

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// ntsName is an NTS server's hostname; chronyd resolves it to resolved,
// not to the address it was probed at (new1).
const (
	ntsName  = "NTS.Example.org"
	resolved = "198.51.100.9"
)

// byNamePlan replaces old1 and old2 with the NTS server ntsName and two
// plain servers.
func byNamePlan() daemon.Plan {
	p := replace()
	for _, s := range []*daemon.Server{&p.Add[0], &p.Selected[0]} {
		s.NTS, s.Name = true, ntsName
	}
	return p
}

func byNameFake() *fakeChronyd {
	f := newFake(old1, old2)
	f.resolve["nts.example.org"] = netip.MustParseAddr(resolved)
	f.resolveAfter = time.Second
	return f
}

// TestApplyNTSByName: an NTS server with a hostname is added by that
// name (chronyd checks the certificate against it), found by name while
// chronyd resolves it elsewhere, and written by name; plain servers stay
// by address.
func TestApplyNTSByName(t *testing.T) {
	f := byNameFake()
	b := backend(t, f)
	res, err := b.Apply(t.Context(), byNamePlan())
	require.NoError(t, err)
	require.False(t, res.RolledBack, res.Reason)
	require.Equal(t, map[string][]bool{ntsName: {true}, new2: {false}, new3: {false}}, ntsOf(f))
	require.Equal(t, sorted(resolved, new2, new3), f.set())
	data, err := os.ReadFile(b.File.Path)
	require.NoError(t, err)
	require.Equal(t, sourcesFileHeader+"server NTS.Example.org iburst nts\nserver "+new2+" iburst\nserver "+new3+" iburst\n", string(data))

	// chronyd's authdata says NTS for it, whatever chrony.conf says.
	srcs, err := b.Sources(t.Context())
	require.NoError(t, err)
	for _, s := range srcs {
		require.Equal(t, s.Name == ntsName, s.NTS, s.Name)
	}

	// The next run finds it there by name: no second source.
	_, err = b.Apply(t.Context(), byNamePlan())
	require.NoError(t, err)
	require.Len(t, f.added, 3)
}

// TestApplyNTSByNameAlreadyASource: a by-name server is a source already
// when chronyd has a source of that name (any case, a final dot) or one
// at the address it was probed at; chronyd would not refuse it.
func TestApplyNTSByNameAlreadyASource(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fakeChronyd, b *Backend)
	}{
		{name: "same name", setup: func(f *fakeChronyd, b *Backend) {
			r := chronyctl.NewAddSource(chronyctl.TypeServer, "nts.example.ORG.")
			require.NoError(t, f.AddSource(t.Context(), r))
			f.added = nil
		}},
		{name: "at the probed address", setup: func(f *fakeChronyd, b *Backend) {
			require.NoError(t, f.AddSource(t.Context(), chronyctl.NewAddSource(chronyctl.TypeServer, new1)))
			f.added = nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := byNameFake()
			b := backend(t, f)
			tc.setup(f, b)
			f.clock.Advance(time.Minute)
			res, err := b.Apply(t.Context(), byNamePlan())
			require.NoError(t, err)
			require.False(t, res.RolledBack, res.Reason)
			require.Equal(t, map[string][]bool{new2: {false}, new3: {false}}, ntsOf(f), "not added again")
			require.Len(t, res.Added, 2)
		})
	}
}

// TestRollbackNTSByName: a rolled-back by-name source is deleted by the
// address chronyd resolved it to, or by its ID# while it is unresolved.
func TestRollbackNTSByName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   func(f *fakeChronyd, b *Backend)
		deleted string
		reason  string
	}{
		{name: "resolved", fault: func(f *fakeChronyd, b *Backend) { f.noSelect = true }, deleted: "delete " + resolved,
			reason: "verification failed"},
		{name: "unresolved", fault: func(f *fakeChronyd, b *Backend) {
			f.resolveAfter = time.Hour
			b.AnswerTimeout = 2 * time.Second
		}, deleted: "delete ID#0000000001",
			reason: "new sources did not answer within 2s: NTS.Example.org (198.51.100.1) (added with nts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := byNameFake()
			b := backend(t, f)
			tc.fault(f, b)
			res, err := b.Apply(t.Context(), byNamePlan())
			require.NoError(t, err)
			require.True(t, res.RolledBack)
			require.Contains(t, res.Reason, tc.reason)
			require.Equal(t, sorted(old1, old2), f.set())
			require.Contains(t, f.log(), tc.deleted)
		})
	}
}

// TestRollbackReaddsNTSByName: a removed NTS source with a hostname (as
// chrony.conf names it) comes back by that name.
func TestRollbackReaddsNTSByName(t *testing.T) {
	f := byNameFake()
	b := backend(t, f)
	require.NoError(t, f.AddSource(t.Context(), chronyctl.NewAddSource(chronyctl.TypeServer, ntsName)))
	f.added = nil
	f.clock.Advance(time.Minute)
	b.NTS = []string{ntsName}
	srcs, err := b.Sources(t.Context())
	require.NoError(t, err)
	require.Len(t, srcs, 3)
	require.True(t, srcs[2].NTS)
	f.noSelect = true
	b.VerifyTimeout = 3 * pollEvery
	res, err := b.Apply(t.Context(), daemon.Plan{
		Selected: []daemon.Server{server(new1)}, Add: []daemon.Server{server(new1)},
		Remove: srcs[2:], Policy: daemon.PolicyConverge,
	})
	require.NoError(t, err)
	require.True(t, res.RolledBack)
	require.Equal(t, map[string][]bool{new1: {false}, ntsName: {true}}, ntsOf(f))
	require.Equal(t, sorted(old1, old2, resolved), f.set())
}

// TestSourcesNTSFromAuthData: chronyd's authdata marks a source added at
// runtime with nts, which no configuration names; a chronyd that does not
// answer AUTH_DATA leaves the configuration's names, asked once.
func TestSourcesNTSFromAuthData(t *testing.T) {
	f := newFake(old1, old2)
	f.authNTS[netip.MustParseAddr(old1)] = true
	b := backend(t, f)
	srcs, err := b.Sources(t.Context())
	require.NoError(t, err)
	require.True(t, srcs[0].NTS)
	require.Equal(t, "nts", srcs[0].Measurement.Auth)
	require.False(t, srcs[1].NTS)

	for _, fault := range []error{chronyctl.ErrUnsupported, chronyctl.ErrUnauthorised, errDead} {
		t.Run(fault.Error(), func(t *testing.T) {
			f.authErr, f.authCalls = fault, 0
			b.NTS = []string{old2}
			srcs, err := b.Sources(t.Context())
			require.NoError(t, err)
			require.Len(t, srcs, 2)
			require.False(t, srcs[0].NTS, "no authdata")
			require.True(t, srcs[1].NTS, "from the configuration")
			require.Equal(t, 1, f.authCalls, "not asked again for every source")
		})
	}
}

// TestApplyNTSByNameUnresolvedOthers: another name chronyd has not
// resolved yet (ID#n, no address) is not the server, even for a server
// without a probed address.
func TestApplyNTSByNameUnresolvedOthers(t *testing.T) {
	f := byNameFake()
	b := backend(t, f)
	require.NoError(t, f.AddSource(t.Context(), chronyctl.NewAddSource(chronyctl.TypeServer, "unresolvable.example.org")))
	f.added = nil
	p := byNamePlan()
	p.Add[0].Address, p.Selected[0].Address = netip.Addr{}, netip.Addr{}
	p.Remove = nil
	res, err := b.Apply(t.Context(), p)
	require.NoError(t, err)
	require.False(t, res.RolledBack, res.Reason)
	require.Equal(t, map[string][]bool{ntsName: {true}, new2: {false}, new3: {false}}, ntsOf(f))
}
