package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// liarProfiles are three agreeing servers (chronyd's set) and the issue's
// five liars, perfect in every number but their clocks' offsets: −100 s,
// +100 s, −50 s, +50 s, +200 s. Eight servers of which three agree: no
// majority.
func liarProfiles() []ntplab.Profile {
	ms := time.Millisecond
	ps := []ntplab.Profile{
		{Name: "ok-1", Truth: ntplab.TruthGood, Stratum: 2, RefID: "192.0.2.1", Delay: 4 * ms, Jitter: 200 * time.Microsecond, RootDelay: 5 * ms},
		{Name: "ok-2", Truth: ntplab.TruthGood, Stratum: 2, RefID: "192.0.2.2", Delay: 5 * ms, Jitter: 200 * time.Microsecond, RootDelay: 6 * ms},
		{Name: "ok-3", Truth: ntplab.TruthGood, Stratum: 2, RefID: "192.0.2.3", Delay: 6 * ms, Jitter: 200 * time.Microsecond, RootDelay: 6 * ms},
	}
	for i, off := range []time.Duration{-100, 100, -50, 50, 200} {
		ps = append(ps, ntplab.Profile{Name: fmt.Sprintf("liar%+d", off), Truth: ntplab.TruthFalseticker, Stratum: 1,
			RefID: []string{"GPS", "PPS", "GNSS", "DCF", "PTB"}[i], Offset: off * time.Second, Delay: ms})
	}
	return ps
}

// TestApplyLiarsNoMajority is issue 12's first item against a real
// chronyd: it has three agreeing sources, the servers file adds the five
// liars. With no majority the agent must add none of them (it added the
// −50 s one, which chronyd marked 'x' seconds later), keep chronyd's three
// and say why.
func TestApplyLiarsNoMajority(t *testing.T) {
	e := newApplyEnv(t, chronytest.V43, liarProfiles(), "ok-1", "ok-2", "ok-3")
	e.waitSelected()
	before := e.sources()
	require.Equal(t, e.addrs("ok-1", "ok-2", "ok-3"), before)

	r, stderr, code := e.apply()
	require.Zero(t, code, "%s\n%s", r.Outcome, stderr)
	require.Equal(t, agent.OutcomeUnchanged, r.Outcome, "%+v", r.Added)
	require.Empty(t, r.Added, "no liar is added")
	require.Empty(t, r.Removed)
	require.Equal(t, before, e.sources(), "chronyd still has its three")
	require.ElementsMatch(t, before, r.Selected)

	for _, c := range r.Candidates {
		name := e.name(c.Address.String())
		if !strings.HasPrefix(name, "liar") {
			require.Equal(t, scoring.Selected, c.Verdict, "%s: %s", name, c.Reason)
			continue
		}
		require.Equal(t, scoring.Rejected, c.Verdict, "%s: %s", name, c.Reason)
		require.Contains(t, c.Reason, "uncorroborated: ", name)
	}
	i := slices.IndexFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "no majority") })
	require.GreaterOrEqual(t, i, 0, "notes: %q", r.Notes)
	require.Contains(t, r.Notes[i], "5 uncorroborated servers are not eligible")

	// And once more: nothing changes on the next run either.
	e.waitSelected()
	r, stderr, code = e.apply()
	require.Zero(t, code, stderr)
	require.Empty(t, r.Added)
	require.Equal(t, before, e.sources())
}

// TestProbeLiarsNoMajority: probe has no current set. Of the three
// agreeing servers and the five liars, the three are the one largest group
// that agrees and the liars are not "selected"; of one good server and one
// 10⁶ s off, neither is.
func TestProbeLiarsNoMajority(t *testing.T) {
	ps := append(liarProfiles(), ntplab.Profile{Name: "liar-1e6", Truth: ntplab.TruthFalseticker, Stratum: 1,
		RefID: "XFAL", Offset: 1e6 * time.Second, Delay: time.Millisecond})
	lab := labtest.StartWith(t, labtest.Scenario(t, t.Name(), ps...), ntplab.Options{Spread: true})
	name := map[string]string{}
	var all strings.Builder
	for _, s := range lab.Servers() {
		name[s.Addr().Addr().String()] = s.Profile().Name
		fmt.Fprintf(&all, "%s\n", s.Addr())
	}
	file := func(lines string) string {
		f := filepath.Join(t.TempDir(), "servers")
		require.NoError(t, os.WriteFile(f, []byte(lines), 0o644))
		return f
	}
	probe := func(file string) map[string]map[string]any {
		t.Helper()
		out, errOut, code := runSerial(t, "probe", "--json", "--spacing", "150ms", "--samples", "4", "--servers-file", file)
		require.Zero(t, code, errOut)
		var rows []map[string]any
		jsonList(t, out, "probe", "candidates", &rows)
		got := map[string]map[string]any{}
		for _, row := range rows {
			got[name[row["address"].(string)]] = row
		}
		return got
	}

	rows := probe(file(all.String()))
	require.Len(t, rows, 9)
	for name, row := range rows {
		if strings.HasPrefix(name, "liar") {
			require.Equal(t, "rejected", row["verdict"], "%s: %v", name, row["reason"])
			require.Contains(t, row["reason"], "uncorroborated: ", name)
		} else {
			require.Equal(t, "selected", row["verdict"], "%s: %v", name, row["reason"])
		}
	}

	rows = probe(file(lab.Server("ok-1").Addr().String() + "\n" + lab.Server("liar-1e6").Addr().String() + "\n"))
	require.Len(t, rows, 2)
	for name, row := range rows {
		require.NotEqual(t, "selected", row["verdict"], "%s: %v", name, row["reason"])
		require.Contains(t, row["reason"], "no two servers agree", name)
	}
}
