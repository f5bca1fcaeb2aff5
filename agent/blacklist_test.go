package agent_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// blNow is the tests' "now"; every entry is placed relative to it.
var blNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	silentAddr  = netip.MustParseAddr("192.0.2.7")
	kodAddr     = netip.MustParseAddr("2001:db8::123")
	poolAddr1   = netip.MustParseAddr("198.51.100.1")
	poolAddr2   = netip.MustParseAddr("198.51.100.2")
	expiredAddr = netip.MustParseAddr("203.0.113.5")
	countAddr   = netip.MustParseAddr("203.0.113.9")
	countAddr2  = netip.MustParseAddr("203.0.113.10")
)

// blState has a silent entry, a KoD entry, two entries of one pool name,
// an expired entry and two addresses counting toward the blacklist.
func blState() scoring.State {
	day := 24 * time.Hour
	return scoring.State{
		Blacklist: map[netip.Addr]scoring.BlacklistEntry{
			silentAddr: {Name: "ntp.example.org", Reason: "no reply in 3 runs in a row", Kind: scoring.BlacklistSilent,
				Since: blNow.Add(-2 * time.Hour), Until: blNow.Add(day - 2*time.Hour), Count: 1,
				Evidence: []string{"2026-03-01T00:00:00Z: no reply to 4 samples (probe); 5 of 6 others measured so answered"}},
			kodAddr: {Name: "deny.example.net", Reason: "kiss-o'-death DENY", Kind: scoring.BlacklistKoD,
				Since: blNow.Add(-day), Until: blNow.Add(day), Count: 2},
			poolAddr1: {Name: "0.pool.example", Reason: "kiss-o'-death RSTR", Kind: scoring.BlacklistKoD,
				Since: blNow.Add(-time.Hour), Until: blNow.Add(3 * day), Count: 1},
			poolAddr2: {Name: "0.pool.example", Reason: "kiss-o'-death RSTR", Kind: scoring.BlacklistKoD,
				Since: blNow.Add(-time.Hour), Until: blNow.Add(3 * day), Count: 1},
			expiredAddr: {Name: "old.example", Reason: "no reply in 3 runs in a row", Kind: scoring.BlacklistSilent,
				Since: blNow.Add(-3 * day), Until: blNow.Add(-2 * day), Count: 1},
		},
		Failures: map[netip.Addr]int{countAddr: 2, countAddr2: 1},
		Evidence: map[netip.Addr][]string{
			countAddr: {"2026-02-28T18:00:00Z: no reply to 4 samples (probe); 6 of 7 others measured so answered",
				"2026-03-01T00:00:00Z: no reply to 4 samples (probe); 6 of 7 others measured so answered"},
			countAddr2: {"2026-03-01T00:00:00Z: no reply to 8 samples (chronyd); 2 of 3 others measured so answered"},
		},
	}
}

func TestBlacklistView(t *testing.T) {
	st := blState()
	addrs := func(items []agent.BlacklistItem) []netip.Addr {
		var out []netip.Addr
		for _, i := range items {
			out = append(out, i.Address)
		}
		return out
	}
	v := agent.Blacklist(&st, blNow, false)
	require.Equal(t, []netip.Addr{silentAddr, kodAddr, poolAddr1, poolAddr2}, addrs(v.Entries),
		"active only, soonest to end first, then by address")
	require.Equal(t, addrs(v.Entries), addrs(v.Active()))
	require.Equal(t, st.Blacklist[silentAddr], v.Entries[0].BlacklistEntry)
	require.Equal(t, []agent.FailureCount{
		{Address: countAddr, Runs: 2, Evidence: st.Evidence[countAddr]},
		{Address: countAddr2, Runs: 1, Evidence: st.Evidence[countAddr2]},
	}, v.Failures, "most runs first")

	all := agent.Blacklist(&st, blNow, true)
	require.Equal(t, []netip.Addr{silentAddr, kodAddr, poolAddr1, poolAddr2, expiredAddr}, addrs(all.Entries),
		"ended entries after the active ones")
	require.False(t, all.Entries[4].Active)
	require.Len(t, all.Active(), 4)

	// The same state a day later: the silent entry has expired.
	later := agent.Blacklist(&st, blNow.Add(23*time.Hour), false)
	require.Equal(t, []netip.Addr{kodAddr, poolAddr1, poolAddr2}, addrs(later.Entries))

	empty := agent.Blacklist(&scoring.State{}, blNow, true)
	require.NotNil(t, empty.Entries, "JSON says [] rather than null")
	require.NotNil(t, empty.Failures)
}

func TestBlacklistMatch(t *testing.T) {
	st := blState()
	for _, tc := range []struct {
		server string
		want   []netip.Addr
	}{
		{"192.0.2.7", []netip.Addr{silentAddr}},
		{" 192.0.2.7 ", []netip.Addr{silentAddr}},
		{"::ffff:192.0.2.7", []netip.Addr{silentAddr}},
		{"2001:db8::123", []netip.Addr{kodAddr}},
		{"2001:0db8:0000::0123", []netip.Addr{kodAddr}},
		{"[2001:db8::123]", []netip.Addr{kodAddr}},
		{"ntp.example.org", []netip.Addr{silentAddr}},
		{"NTP.Example.ORG.", []netip.Addr{silentAddr}},
		{"0.pool.example", []netip.Addr{poolAddr1, poolAddr2}},
		{"old.example", []netip.Addr{expiredAddr}},
		{"203.0.113.9", nil}, // counting, not listed
		{"example.org", nil}, // no partial match
		{"", nil},
	} {
		require.Equal(t, tc.want, agent.MatchBlacklist(&st, tc.server), "%q", tc.server)
	}
}

// blStore is a store at blNow holding blState.
func blStore(t *testing.T) *agent.Store {
	t.Helper()
	s := &agent.Store{Dir: t.TempDir(), Logger: zerolog.Nop(), Clock: clocktest.NewStepper(blNow)}
	require.NoError(t, s.SaveState(agent.State{Scoring: blState(), Counters: agent.Counters{Runs: 9, Outages: 2}}))
	return s
}

func stateFile(t *testing.T, s *agent.Store) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, "state.json"))
	require.NoError(t, err)
	return string(b)
}

func TestClearBlacklistNamed(t *testing.T) {
	s := blStore(t)
	cleared, err := s.ClearBlacklist(t.Context(), time.Second, []string{"ntp.example.org", "0.pool.example", "old.example"}, false)
	require.NoError(t, err)
	before := blState()
	require.Equal(t, []agent.Cleared{
		{Server: "ntp.example.org", Address: silentAddr, Entry: before.Blacklist[silentAddr], Lifted: true},
		{Server: "0.pool.example", Address: poolAddr1, Entry: before.Blacklist[poolAddr1], Lifted: true},
		{Server: "0.pool.example", Address: poolAddr2, Entry: before.Blacklist[poolAddr2], Lifted: true},
		{Server: "old.example", Address: expiredAddr, Entry: before.Blacklist[expiredAddr], Lifted: false},
	}, cleared)

	st, _, err := s.PeekState()
	require.NoError(t, err)
	for _, a := range []netip.Addr{silentAddr, poolAddr1, poolAddr2} {
		e := st.Scoring.Blacklist[a]
		require.False(t, e.Active(blNow), "%s lifted", a)
		require.Equal(t, blNow, e.Lifted)
		require.Equal(t, blNow, e.Until)
		require.Equal(t, before.Blacklist[a].Count, e.Count, "kept, with its count, so a repeat doubles")
		require.Equal(t, before.Blacklist[a].Evidence, e.Evidence)
	}
	require.Equal(t, before.Blacklist[kodAddr], st.Scoring.Blacklist[kodAddr], "not named: untouched")
	require.Equal(t, before.Blacklist[expiredAddr], st.Scoring.Blacklist[expiredAddr], "already ended: untouched")
	require.Equal(t, before.Failures, st.Scoring.Failures, "failure counts untouched")
	require.Equal(t, before.Evidence, st.Scoring.Evidence)
	require.Equal(t, agent.Counters{Runs: 9, Outages: 2}, st.Counters, "the rest of the state kept")

	// A repeat after the clear is the entry's second term: twice as long.
	cfg := scoring.DefaultConfig()
	_, next, err := scoring.Decide(scoring.Input{Measurements: []scoring.Measurement{{Origin: scoring.OriginProbe,
		Address: poolAddr1, Name: "0.pool.example", SamplesSent: 1, KoD: "DENY"}}}, st.Scoring, blNow.Add(time.Hour), cfg)
	require.NoError(t, err)
	e := next.Blacklist[poolAddr1]
	require.Equal(t, 2, e.Count)
	require.Equal(t, 2*cfg.BlacklistBase, e.Until.Sub(e.Since))
}

func TestClearBlacklistAll(t *testing.T) {
	s := blStore(t)
	cleared, err := s.ClearBlacklist(t.Context(), time.Second, nil, true)
	require.NoError(t, err)
	var got []netip.Addr
	for _, c := range cleared {
		require.True(t, c.Lifted)
		require.Empty(t, c.Server)
		got = append(got, c.Address)
	}
	require.Equal(t, []netip.Addr{silentAddr, kodAddr, poolAddr1, poolAddr2}, got, "every active entry, not the ended one")
	st, _, err := s.PeekState()
	require.NoError(t, err)
	require.Empty(t, agent.Blacklist(&st.Scoring, blNow, false).Entries)
	require.Len(t, agent.Blacklist(&st.Scoring, blNow, true).Entries, 5, "all kept for doubling")

	// Nothing left to clear: nothing is written.
	file := stateFile(t, s)
	cleared, err = s.ClearBlacklist(t.Context(), time.Second, nil, true)
	require.NoError(t, err)
	require.Empty(t, cleared)
	require.Equal(t, file, stateFile(t, s))
}

func TestClearBlacklistRefuses(t *testing.T) {
	t.Run("unknown server: nothing changed", func(t *testing.T) {
		s := blStore(t)
		file := stateFile(t, s)
		_, err := s.ClearBlacklist(t.Context(), time.Second, []string{"192.0.2.7", "nope.example", "203.0.113.9"}, false)
		require.ErrorIs(t, err, agent.ErrNotListed)
		require.ErrorContains(t, err, `"nope.example", "203.0.113.9": not on the blacklist`)
		require.Equal(t, file, stateFile(t, s), "the known one is not lifted either")
	})
	t.Run("already ended: nothing written", func(t *testing.T) {
		s := blStore(t)
		file := stateFile(t, s)
		cleared, err := s.ClearBlacklist(t.Context(), time.Second, []string{"203.0.113.5"}, false)
		require.NoError(t, err)
		require.Len(t, cleared, 1)
		require.False(t, cleared[0].Lifted)
		require.Equal(t, file, stateFile(t, s))
	})
	t.Run("arguments", func(t *testing.T) {
		s := blStore(t)
		_, err := s.ClearBlacklist(t.Context(), time.Second, nil, false)
		require.ErrorIs(t, err, agent.ErrInput)
		_, err = s.ClearBlacklist(t.Context(), time.Second, []string{"192.0.2.7"}, true)
		require.ErrorIs(t, err, agent.ErrInput)
	})
	t.Run("a run holds the lock", func(t *testing.T) {
		s := blStore(t)
		file := stateFile(t, s)
		held, err := s.Lock(t.Context(), 0)
		require.NoError(t, err)
		defer held.Unlock()
		_, err = s.ClearBlacklist(t.Context(), 10*time.Second, nil, true) // the Stepper runs the wait through at once
		require.ErrorIs(t, err, agent.ErrLocked)
		require.Equal(t, file, stateFile(t, s))
	})
	t.Run("corrupt state left in place", func(t *testing.T) {
		s := blStore(t)
		p := filepath.Join(s.Dir, "state.json")
		require.NoError(t, os.WriteFile(p, []byte("{not json"), 0o640))
		_, err := s.ClearBlacklist(t.Context(), time.Second, nil, true)
		require.ErrorContains(t, err, "does not parse")
		require.ErrorContains(t, err, "not changing it")
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, "{not json", string(b))
	})
	t.Run("no state directory: not created", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		s := &agent.Store{Dir: dir, Logger: zerolog.Nop(), Clock: clocktest.NewStepper(blNow)}
		_, err := s.ClearBlacklist(t.Context(), time.Second, []string{"192.0.2.7"}, false)
		require.ErrorIs(t, err, agent.ErrNotListed)
		cleared, err := s.ClearBlacklist(t.Context(), time.Second, nil, true)
		require.NoError(t, err)
		require.Empty(t, cleared)
		_, err = os.Stat(dir)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
