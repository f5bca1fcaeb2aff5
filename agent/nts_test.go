package agent

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// TestPlanCarriesNTS: a candidate listed with nts is added with it; a
// source the daemon has with nts keeps it in the set (and so in the
// sources file); a kept source keeps it too; the others are plain.
func TestPlanCarriesNTS(t *testing.T) {
	a1, a2, a3, a4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"),
		netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	cand := func(a netip.Addr, name, auth string) scoring.Candidate {
		return scoring.Candidate{Measurement: scoring.Measurement{Address: a, Port: 123, Name: name, Auth: auth}}
	}
	dec := scoring.Decision{
		Selected:   []netip.Addr{a1, a3, a4},
		Candidates: []scoring.Candidate{cand(a1, "192.0.2.1", ""), cand(a2, "192.0.2.2", ""), cand(a3, "nts.example.org", "nts"), cand(a4, "plain.example.org", "")},
	}
	sources := []daemon.Source{
		{Address: a1, Port: 123, Name: "192.0.2.1", ID: "192.0.2.1", NTS: true, HasReach: true, Reach: 0o377},
		{Address: a2, Port: 123, Name: "192.0.2.2", ID: "192.0.2.2", NTS: true, HasReach: true, Reach: 0o377},
	}
	a := &Agent{Settings: Settings{Policy: daemon.PolicyConverge, Scoring: scoring.Config{SetSize: 4}}}
	p, kept := a.plan(dec, sources, &State{}, []discovery.Candidate{{Name: "nts.example.org", Port: 123, Auth: discovery.AuthNTS}})

	nts := map[netip.Addr]bool{}
	for _, s := range p.Selected {
		nts[s.Address] = s.NTS
	}
	require.Equal(t, map[netip.Addr]bool{a1: true, a3: true, a4: false}, nts,
		"a1: the daemon's, with nts; a3: listed with nts")
	require.Empty(t, kept)
	require.Len(t, p.Add, 2)
	require.True(t, p.Add[0].NTS)
	require.False(t, p.Add[1].NTS)

	// Nothing added: the guard keeps a2, with its nts.
	dec.Selected = []netip.Addr{a1}
	p, kept = a.plan(dec, sources, &State{}, nil)
	require.Contains(t, kept, a2)
	require.Equal(t, []daemon.Server{{Address: a1, Port: 123, Name: "192.0.2.1", NTS: true},
		{Address: a2, Port: 123, Name: "192.0.2.2", NTS: true}}, p.Selected)
}

// TestDescribeCarriesAuth: a measurement of a candidate listed with nts
// says so; the catalog's "offers NTS" alone does not.
func TestDescribeCarriesAuth(t *testing.T) {
	m := scoring.Measurement{Auth: "nts"}
	describe(&m, &discovery.Candidate{Name: "x.example"})
	require.Equal(t, "nts", m.Auth, "the daemon's nts is not cleared")
	m = scoring.Measurement{}
	describe(&m, &discovery.Candidate{Name: "time.cloudflare.com", NTS: true})
	require.Empty(t, m.Auth)
	describe(&m, &discovery.Candidate{Name: "time.cloudflare.com", NTS: true, Auth: discovery.AuthNTS})
	require.Equal(t, "nts", m.Auth)
}

// TestDaemonSaysHowItAuthenticates: a source the daemon uses plain stays
// plain although a list (or the catalog) names it "nts" — in the
// measurement (so scoring does not protect it as NTS) and in the plan (so
// the sources file does not turn it into an NTS source at the next
// restart); a source the daemon uses with NTS stays NTS.
func TestDaemonSaysHowItAuthenticates(t *testing.T) {
	plain, withNTS := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	cands := []discovery.Candidate{
		{Name: "plain.example", Port: 123, Auth: discovery.AuthNTS},
		{Name: "nts.example", Port: 123},
	}
	daemonM := func(a netip.Addr) scoring.Measurement {
		m := scoring.Measurement{Origin: scoring.OriginChronyd, Address: a, Port: 123, Name: a.String(), Stratum: 2,
			SamplesSent: 8, SamplesOK: 8, Delay: 0.01, Jitter: 0.0005, RootDelay: 0.01, RootDispersion: 0.01}
		return m
	}
	srcs := []daemon.Source{
		{Address: plain, Port: 123, Name: "plain.example", ID: plain.String(), HasReach: true, Reach: 0o377},
		{Address: withNTS, Port: 123, Name: "nts.example", ID: withNTS.String(), NTS: true, HasReach: true, Reach: 0o377},
	}
	probes := []prober.Result{{Server: "plain.example", Address: plain, Port: 123}, {Server: "nts.example", Address: withNTS, Port: 123}}
	ev, err := Evaluate(EvalInput{Probes: probes, Daemon: []scoring.Measurement{daemonM(plain), daemonM(withNTS)},
		Candidates: cands, Current: map[netip.Addr]bool{plain: true, withNTS: true}, Sources: srcs},
		scoring.State{}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), scoring.DefaultConfig())
	require.NoError(t, err)
	auth := map[netip.Addr]string{}
	for _, c := range ev.Decision.Candidates {
		auth[c.Address] = c.Auth
	}
	require.Equal(t, map[netip.Addr]string{plain: "", withNTS: "nts"}, auth)

	a := &Agent{Settings: Settings{Policy: daemon.PolicyConverge, Scoring: scoring.Config{SetSize: 4}}}
	dec := scoring.Decision{Selected: []netip.Addr{plain, withNTS}, Candidates: []scoring.Candidate{
		{Measurement: scoring.Measurement{Address: plain, Port: 123, Name: "plain.example", Auth: "nts"}},
		{Measurement: scoring.Measurement{Address: withNTS, Port: 123, Name: "nts.example"}},
	}}
	p, _ := a.plan(dec, srcs, &State{}, cands)
	nts := map[netip.Addr]bool{}
	for _, s := range p.Selected {
		nts[s.Address] = s.NTS
	}
	require.Equal(t, map[netip.Addr]bool{plain: false, withNTS: true}, nts)
	require.Empty(t, p.Add)
}
