package chronylive

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// ntsOf says, for each ADD_SOURCE the fake took, whether it asked for NTS.
func ntsOf(f *fakeChronyd) map[string][]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]bool{}
	for _, r := range f.added {
		out[r.Name] = append(out[r.Name], r.Flags&chronyctl.FlagNTS != 0)
	}
	return out
}

// ntsByAddress marks p's first server NTS, known by its address alone
// (its name the IP literal): it is added by address.
func ntsByAddress(p daemon.Plan) daemon.Plan {
	for _, s := range []*daemon.Server{&p.Add[0], &p.Selected[0]} {
		s.NTS, s.Name = true, s.Address.String()
	}
	return p
}

// TestApplyKeepsNTS: a server marked NTS is added with `nts` and written
// with it; the others get the source options alone.
func TestApplyKeepsNTS(t *testing.T) {
	for _, tc := range []struct {
		name, options string
		want          string
	}{
		{name: "iburst", options: "iburst", want: "server 198.51.100.1 iburst nts\nserver 198.51.100.2 iburst\nserver 198.51.100.3 iburst\n"},
		{name: "no options", options: "", want: "server 198.51.100.1 nts\nserver 198.51.100.2\nserver 198.51.100.3\n"},
		{name: "nts for all", options: "iburst nts", want: "server 198.51.100.1 iburst nts\nserver 198.51.100.2 iburst nts\nserver 198.51.100.3 iburst nts\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(old1, old2)
			b := backend(t, f)
			b.SourceOptions = tc.options
			p := ntsByAddress(replace())
			res, err := b.Apply(t.Context(), p)
			require.NoError(t, err)
			require.False(t, res.RolledBack)
			all := tc.options == "iburst nts"
			require.Equal(t, map[string][]bool{new1: {true}, new2: {all}, new3: {all}}, ntsOf(f))
			data, err := os.ReadFile(b.File.Path)
			require.NoError(t, err)
			require.Equal(t, sourcesFileHeader+tc.want, string(data))
		})
	}
}

// TestSourcesNTSFromConfiguration: chronyd's sources configured with
// `nts` (chrony.conf, a sourcedir) are NTS, by name or by address, and
// so is their measurement.
func TestSourcesNTSFromConfiguration(t *testing.T) {
	f := newFake(old1, old2)
	b := backend(t, f)
	b.NTS = []string{"192.0.2.1", "nts.example.org"}
	srcs, err := b.Sources(t.Context())
	require.NoError(t, err)
	require.Len(t, srcs, 2)
	require.True(t, srcs[0].NTS)
	require.NotNil(t, srcs[0].Measurement)
	require.Equal(t, "nts", srcs[0].Measurement.Auth)
	require.False(t, srcs[1].NTS)
	require.Empty(t, srcs[1].Measurement.Auth)
}

// TestRollbackKeepsNTS: a removed source that had `nts` is re-added with
// it when the change is rolled back; a plain one stays plain.
func TestRollbackKeepsNTS(t *testing.T) {
	f := newFake(old1, old2)
	b := backend(t, f)
	b.NTS = []string{old1}
	srcs, err := b.Sources(t.Context())
	require.NoError(t, err)
	// Both new sources answer, the old ones go, then chronyd selects
	// nothing: the change is undone.
	f.noSelect = true
	b.VerifyTimeout = 3 * pollEvery
	p := daemon.Plan{
		Selected: []daemon.Server{server(new1), server(new2)},
		Add:      []daemon.Server{server(new1), server(new2)},
		Remove:   srcs,
		Policy:   daemon.PolicyConverge,
	}
	res, err := b.Apply(t.Context(), p)
	require.NoError(t, err)
	require.True(t, res.RolledBack, res.Reason)
	require.Equal(t, sorted(old1, old2), f.set())
	got := ntsOf(f)
	require.Equal(t, []bool{true}, got[old1], "re-added with nts")
	require.Equal(t, []bool{false}, got[old2])
}

// TestSourcesFileNTSRoundTrip: what the agent writes with `nts` is read
// back from the sourcedir as an NTS source, so the next run keeps it.
func TestSourcesFileNTSRoundTrip(t *testing.T) {
	d := t.TempDir()
	dir := filepath.Join(d, "sources.d")
	conf := filepath.Join(d, "chrony.conf")
	write(t, conf, "server time.cloudflare.com iburst nts\nserver plain.example.org iburst\n"+
		"server Nts.Example.Org. NTS ntsport 4461\npeer 192.0.2.9 nts\npool nts-pool.example.org nts\nsourcedir "+dir+"\n")
	f := SourcesFile{Path: filepath.Join(dir, SourcesFileName)}
	require.NoError(t, f.Write([]SourceLine{
		{Address: "198.51.100.1", Options: "iburst nts"},
		{Address: "2001:db8::1", Port: 4123, Options: "iburst nts certset 1"},
		{Address: "198.51.100.2", Options: "iburst"},
	}))
	c, err := ReadChronyConf(conf)
	require.NoError(t, err)
	require.Equal(t, []string{"time.cloudflare.com", "Nts.Example.Org.", "192.0.2.9", "198.51.100.1", "2001:db8::1"}, c.NTS)
	for _, name := range []string{"time.cloudflare.com", "TIME.cloudflare.com.", "nts.example.org", "198.51.100.1", "2001:0db8::1"} {
		require.True(t, c.HasNTS(name), name)
	}
	for _, name := range []string{"plain.example.org", "198.51.100.2", "nts-pool.example.org"} {
		require.False(t, c.HasNTS(name), name)
	}
	require.Equal(t, []string{"nts-pool.example.org"}, c.Pools)
}

// TestSilentNTSSourceSaysWhy: chronyd answers an NTS add with success
// even when it was built without NTS; the silent source's error says what
// to check.
func TestSilentNTSSourceSaysWhy(t *testing.T) {
	f := newFake(old1, old2)
	f.silent[netip.MustParseAddr(new1)] = true
	b := backend(t, f)
	b.AnswerTimeout = 2 * time.Second
	p := ntsByAddress(replace())
	res, err := b.Apply(t.Context(), p)
	require.NoError(t, err)
	require.True(t, res.RolledBack)
	require.Contains(t, res.Reason, "new sources did not answer within 2s: 198.51.100.1 (added with nts: a chronyd built without NTS support")
	require.Equal(t, sorted(old1, old2), f.set())

	// A plain silent source gets no such hint.
	f = newFake(old1, old2)
	f.silent[netip.MustParseAddr(new1)] = true
	b = backend(t, f)
	b.AnswerTimeout = 2 * time.Second
	res, err = b.Apply(t.Context(), replace())
	require.NoError(t, err)
	require.NotContains(t, res.Reason, "nts")
}

// TestNTSOptionsKept: a chrony.conf NTS line's ntsport and certset reach
// the source, and come back in every add and line written for it, unless
// source_options sets them itself.
func TestNTSOptionsKept(t *testing.T) {
	d := t.TempDir()
	conf := filepath.Join(d, "chrony.conf")
	write(t, conf, "server 192.0.2.1 iburst nts ntsport 4461 certset 1\nserver nts.example.org nts\nserver 192.0.2.2 ntsport 9\n")
	c, err := ReadChronyConf(conf)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"192.0.2.1": "ntsport 4461 certset 1"}, c.NTSOptions, "only nts lines; none without options")

	f := newFake(old1, old2)
	b := backend(t, f)
	b.NTS, b.NTSOptions = c.NTS, c.NTSOptions
	srcs, err := b.Sources(t.Context())
	require.NoError(t, err)
	require.Equal(t, "ntsport 4461 certset 1", srcs[0].NTSOptions)
	require.Empty(t, srcs[1].NTSOptions)

	b.SourceOptions = "iburst"
	s := daemon.Server{NTS: true, NTSOptions: "ntsport 4461 certset 1"}
	require.Equal(t, "iburst ntsport 4461 certset 1 nts", b.options(s))
	b.SourceOptions = "iburst ntsport 4460"
	require.Equal(t, "iburst ntsport 4460 certset 1 nts", b.options(s), "source_options win")
	require.Equal(t, "iburst ntsport 4460", b.options(daemon.Server{NTSOptions: "certset 1"}), "plain: no NTS options")

	// Written and re-added with them.
	b.SourceOptions = "iburst"
	p := ntsByAddress(replace())
	p.Add[0].NTSOptions, p.Selected[0].NTSOptions = "ntsport 4461", "ntsport 4461"
	_, err = b.Apply(t.Context(), p)
	require.NoError(t, err)
	data, err := os.ReadFile(b.File.Path)
	require.NoError(t, err)
	require.Contains(t, string(data), "server "+new1+" iburst ntsport 4461 nts\n")
}
