package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// These tests run the measure stage's NTS pre-flight with a fake checker:
// which addresses are pre-flighted, what their measurement is, and that
// only a passed pre-flight is ever added (with nts).

// listDiscoverer offers the daemon's sources and fixed candidates.
type listDiscoverer struct{ cands []discovery.Candidate }

func (d *listDiscoverer) Discover(_ context.Context, _ discovery.Config, current []discovery.Source) (discovery.Result, error) {
	var res discovery.Result
	for _, c := range current {
		res.Candidates = append(res.Candidates, discovery.Candidate{Name: c.Name, Port: 123, Origin: discovery.OriginChronyd})
	}
	res.Candidates = append(res.Candidates, d.cands...)
	return res, nil
}

func ntsCand(i int) discovery.Candidate {
	return discovery.Candidate{Name: addr(i).String(), Port: 123, Origin: discovery.OriginServers, NTS: true, Auth: discovery.AuthNTS}
}

// fakeNTS answers pre-flights from a table by address: it dials the key
// exchange through the run's dialer (so the run counts it), then returns
// the table's result. Unknown addresses pass.
type fakeNTS struct {
	mu       sync.Mutex
	results  map[netip.Addr]prober.NTSResult
	targets  []prober.NTSTarget
	opts     []prober.NTSOptions
	inFlight int
	peak     int
	hold     time.Duration
}

func (f *fakeNTS) PreflightNTS(ctx context.Context, t prober.NTSTarget, o prober.NTSOptions) prober.NTSResult {
	f.mu.Lock()
	f.targets = append(f.targets, t)
	f.opts = append(f.opts, o)
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	res, ok := f.results[t.Address]
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	time.Sleep(f.hold)
	if !ok {
		res = passed(t.Address, 8)
	}
	res.Target = t
	res.KEAddr = netip.AddrPortFrom(t.Address, prober.DefaultNTSKEPort)
	if c, err := o.Dial(ctx, "tcp", res.KEAddr.String()); err == nil {
		_ = c.Close()
	}
	return res
}

// passed is a pre-flight with four authenticated samples about 5 ms away
// (the second the best), cookies cookies.
func passed(a netip.Addr, cookies int) prober.NTSResult {
	res := prober.NTSResult{OK: true, Cookies: cookies, NTPServer: netip.AddrPortFrom(a, 123)}
	offsets := []time.Duration{300 * time.Microsecond, 200 * time.Microsecond, 400 * time.Microsecond, 100 * time.Microsecond}
	delays := []time.Duration{5 * ms, 4 * ms, 6 * ms, 5 * ms}
	for i := range offsets {
		res.Samples = append(res.Samples, prober.Sample{Seq: i, Sent: time.Unix(1, 0), OK: true, Offset: offsets[i],
			Delay: delays[i], Stratum: 1, RefID: "GPS", RootDelay: ms, RootDispersion: ms})
	}
	res.Sample = res.Samples[1]
	return res
}

// failed is a pre-flight that failed with err; sent NTP requests went out
// (answered: replies that still did not count).
func failed(err error, sent int, kod string) prober.NTSResult {
	res := prober.NTSResult{Err: err, Reason: err.Error()}
	for i := range sent {
		res.Samples = append(res.Samples, prober.Sample{Seq: i, Sent: time.Unix(1, 0), KoD: kod, Err: err.Error()})
	}
	return res
}

// pipeDial accepts every connection but those to addresses in down, which
// have no route.
func pipeDial(down ...netip.Addr) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(_ context.Context, network, address string) (net.Conn, error) {
		ap := netip.MustParseAddrPort(address)
		if slices.Contains(down, ap.Addr()) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ENETUNREACH}
		}
		c, s := net.Pipe()
		_ = s.Close()
		return c, nil
	}
}

// dedupProber is the fake prober with the real one's resolving (hosts)
// and merging: one result per address, the other names that resolved to
// it its aliases.
type dedupProber struct {
	*fakeProber
	hosts map[string]netip.Addr
}

func (p dedupProber) Probe(ctx context.Context, targets []prober.Target, opt prober.RunOptions) ([]prober.Result, error) {
	var uniq []prober.Target
	first := map[string]string{} // address → the first name
	aliases := map[string][]string{}
	for _, t := range targets {
		a := t.Name
		if h, ok := p.hosts[t.Name]; ok {
			a = h.String()
		}
		if n, ok := first[a]; ok {
			aliases[n] = append(aliases[n], t.Name)
			continue
		}
		first[a] = t.Name
		uniq = append(uniq, prober.Target{Name: a, Port: t.Port})
	}
	out, err := p.fakeProber.Probe(ctx, uniq, opt)
	for i := range out {
		out[i].Server = first[out[i].Server]
		out[i].Aliases = aliases[out[i].Server]
	}
	return out, err
}

// newNTSEnv: the daemon has servers 1 and 2 (measured by it); the lists
// offer the NTS candidates given.
func newNTSEnv(t *testing.T, nts *fakeNTS, cands ...discovery.Candidate) *env {
	e := newEnv(t)
	e.a.Discoverer = &listDiscoverer{cands: cands}
	e.a.Prober = dedupProber{fakeProber: e.prober, hosts: map[string]netip.Addr{"nts.example.org": addr(7)}}
	if nts != nil {
		e.a.NTS = nts
	}
	e.a.Settings.NTS = agent.NTSSettings{Options: prober.NTSOptions{Samples: 4, Dial: pipeDial()}, Parallel: 2}
	return e
}

func reportOf(t *testing.T, rep *agent.Report, a netip.Addr) agent.CandidateReport {
	t.Helper()
	for _, c := range rep.Candidates {
		if c.Address == a {
			return c
		}
	}
	t.Fatalf("no report for %s in %+v", a, rep.Candidates)
	return agent.CandidateReport{}
}

// TestPreflightPassedIsAddedWithNTS: a listed NTS server is pre-flighted,
// not probed; its measurement is the authenticated samples' and it is
// added with nts.
func TestPreflightPassedIsAddedWithNTS(t *testing.T) {
	nts := &fakeNTS{results: map[netip.Addr]prober.NTSResult{}}
	e := newNTSEnv(t, nts, ntsCand(7))
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.NotContains(t, e.prober.probed, addr(7), "pre-flighted instead of probed")
	require.Equal(t, []prober.NTSTarget{{Name: "10.0.7.1", Address: addr(7)}}, nts.targets)
	require.Equal(t, 4, nts.opts[0].Samples, "the settings' options")

	c := reportOf(t, rep, addr(7))
	require.Equal(t, scoring.Selected, c.Verdict, c.Reason)
	require.Equal(t, "nts", c.Auth)
	require.Empty(t, c.AuthError)
	require.Equal(t, scoring.OriginProbe, c.Origin)
	require.Equal(t, 4, c.SamplesSent)
	require.Equal(t, 4, c.SamplesOK)
	require.InDelta(t, 0.0002, c.Offset, 1e-9, "the lowest-delay sample's")
	require.InDelta(t, 0.004, c.Delay, 1e-9)
	require.Positive(t, c.Jitter)
	require.Equal(t, 1, c.Stratum)
	require.Equal(t, 8, c.NTSCookies)
	require.Equal(t, "10.0.7.1:4460", c.NTSKE)
	require.Len(t, c.Samples, 4)
	require.Contains(t, rep.Notes, "nts: pre-flighted 1 address(es) with 1 key exchange(s)")
	require.Empty(t, rep.Warnings)

	require.Len(t, e.backend.plans, 1)
	var added []daemon.Server
	for _, s := range e.backend.plans[0].Add {
		if s.Address == addr(7) {
			added = append(added, s)
		}
	}
	require.Equal(t, []daemon.Server{{Address: addr(7), Port: 123, Name: "10.0.7.1", NTS: true}}, added)
}

// TestPreflightFailuresAreRejected: each reason a pre-flight fails for
// rejects the candidate with that reason and never adds it; only
// unanswered authenticated requests count as a silence.
func TestPreflightFailuresAreRejected(t *testing.T) {
	cases := []struct {
		name    string
		res     prober.NTSResult
		sent    int    // samples_sent in the measurement
		silence bool   // counted as no reply
		kod     string // the measurement's kiss code
	}{
		{name: "unknown authority", res: failed(fmt.Errorf("%w: x509: certificate signed by unknown authority", prober.ErrNTSUnknownAuthority), 0, "")},
		{name: "expired", res: failed(fmt.Errorf("%w: not after 2033-07-07", prober.ErrNTSCertExpired), 0, "")},
		{name: "ke timeout", res: failed(fmt.Errorf("%w: i/o timeout", prober.ErrNTSKETimeout), 0, "")},
		{name: "ke refused", res: failed(fmt.Errorf("%w: connection refused", prober.ErrNTSKEConnect), 0, "")},
		{name: "no cookies", res: failed(prober.ErrNTSNoCookies, 0, "")},
		{name: "nak", res: failed(fmt.Errorf("%w: the NTP server rejected the cookie (kiss code NTSN)", prober.ErrNTSNAK), 1, "")},
		{name: "no authenticated reply", res: failed(fmt.Errorf("%w within 5s", prober.ErrNTSNoAuthReply), 4, ""), sent: 4, silence: true},
		{name: "authenticated DENY", res: failed(fmt.Errorf("%w: an authenticated kiss-o'-death DENY", prober.ErrNTSKoD), 1, "DENY"), sent: 1, kod: "DENY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nts := &fakeNTS{results: map[netip.Addr]prober.NTSResult{addr(8): tc.res}}
			e := newNTSEnv(t, nts, ntsCand(7), ntsCand(8))
			rep, err := e.a.Run(t.Context(), agent.Options{})
			require.NoError(t, err)
			c := reportOf(t, rep, addr(8))
			require.Equal(t, scoring.Rejected, c.Verdict)
			require.Equal(t, tc.res.Reason, c.AuthError)
			require.Contains(t, c.Reason, tc.res.Reason)
			require.Equal(t, tc.res.Reason, c.Error)
			require.Equal(t, "nts", c.Auth)
			require.Equal(t, "10.0.8.1:4460", c.NTSKE)
			require.Equal(t, tc.sent, c.SamplesSent)
			require.Zero(t, c.SamplesOK)
			require.Equal(t, tc.kod, c.KoD)
			require.Equal(t, tc.silence, strings.Contains(c.Reason, "no reply to any of"), c.Reason)
			for _, p := range e.backend.plans {
				for _, s := range p.Add {
					require.NotEqual(t, addr(8), s.Address, "never added")
				}
			}
			require.Contains(t, rep.Selected, addr(7).String(), "the good one is")
		})
	}
}

// TestPreflightSkips: a blacklisted NTS candidate is not pre-flighted; a
// source chronyd has (and measures) with nts is not either; without a
// checker an NTS candidate is never added.
func TestPreflightSkips(t *testing.T) {
	t.Run("blacklisted", func(t *testing.T) {
		nts := &fakeNTS{}
		e := newNTSEnv(t, nts, ntsCand(7), ntsCand(8))
		now := e.clock.Now()
		require.NoError(t, e.a.Store.SaveState(agent.State{Scoring: scoring.State{Blacklist: map[netip.Addr]scoring.BlacklistEntry{
			addr(8): {Name: "10.0.8.1", Reason: "no reply in 3 runs in a row", Kind: scoring.BlacklistSilent, Since: now,
				Until: now.Add(time.Hour), Count: 1},
		}}}))
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.Equal(t, []prober.NTSTarget{{Name: "10.0.7.1", Address: addr(7)}}, nts.targets)
		c := reportOf(t, rep, addr(8))
		require.Equal(t, scoring.Rejected, c.Verdict)
		require.Contains(t, c.Error, "not measured: blacklisted until")
		require.Empty(t, c.NTSKE)
	})
	t.Run("current chronyd NTS source", func(t *testing.T) {
		nts := &fakeNTS{}
		e := newNTSEnv(t, nts, ntsCand(1), ntsCand(7))
		e.backend.sources[0].NTS = true
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.Equal(t, []prober.NTSTarget{{Name: "10.0.7.1", Address: addr(7)}}, nts.targets)
		require.Empty(t, e.prober.probed, "chronyd measures it")
		c := reportOf(t, rep, addr(1))
		require.Equal(t, scoring.OriginChronyd, c.Origin)
		require.Equal(t, "nts", c.Auth)
		require.Empty(t, c.NTSKE)
	})
	t.Run("current NTS source the daemon does not measure", func(t *testing.T) {
		nts := &fakeNTS{}
		e := newNTSEnv(t, nts, ntsCand(1), ntsCand(7))
		e.backend.sources[0].NTS, e.backend.sources[0].Measurement = true, nil
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.Equal(t, []prober.NTSTarget{{Name: "10.0.7.1", Address: addr(7)}}, nts.targets)
		require.Equal(t, []netip.Addr{addr(1)}, e.prober.probed, "probed as before")
		require.Equal(t, "nts", reportOf(t, rep, addr(1)).Auth)
	})
	t.Run("no checker", func(t *testing.T) {
		e := newNTSEnv(t, nil, ntsCand(7))
		rep, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.NotContains(t, e.prober.probed, addr(7))
		c := reportOf(t, rep, addr(7))
		require.Equal(t, scoring.Rejected, c.Verdict)
		require.Equal(t, agent.NTSNotChecked, c.AuthError)
		require.Equal(t, agent.NTSNotChecked, c.Error)
		require.NotContains(t, rep.Selected, addr(7).String())
	})
	t.Run("a plain name for the same address", func(t *testing.T) {
		nts := &fakeNTS{}
		e := newNTSEnv(t, nts, ntsCand(7), discovery.Candidate{Name: "10.0.7.1", Port: 123, Origin: discovery.OriginServers})
		_, err := e.a.Run(t.Context(), agent.Options{})
		require.NoError(t, err)
		require.Len(t, nts.targets, 1)
		require.NotContains(t, e.prober.probed, addr(7), "measured once, by the pre-flight")
	})
}

// TestPreflightCertificateName: the certificate is checked against the
// candidate's name (the one it is added by), at the address it resolved
// to.
func TestPreflightCertificateName(t *testing.T) {
	nts := &fakeNTS{}
	e := newNTSEnv(t, nts, discovery.Candidate{Name: "nts.example.org", Port: 123, Origin: discovery.OriginServers, Auth: discovery.AuthNTS})
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.NoError(t, err)
	require.Equal(t, []prober.NTSTarget{{Name: "nts.example.org", Address: addr(7)}}, nts.targets)
	c := reportOf(t, rep, addr(7))
	require.Equal(t, "nts.example.org", c.Name)
	require.Equal(t, scoring.Selected, c.Verdict, c.Reason)
}

// TestPreflightPoliteness: one key exchange per address, at most Parallel
// at once; fewer than 8 cookies is a warning, not a failure; a dry run
// pre-flights too (it changes nothing) and adds nothing.
func TestPreflightPoliteness(t *testing.T) {
	nts := &fakeNTS{results: map[netip.Addr]prober.NTSResult{addr(9): passed(addr(9), 3)}, hold: 20 * ms}
	var cands []discovery.Candidate
	for i := 7; i <= 12; i++ {
		cands = append(cands, ntsCand(i), ntsCand(i)) // listed twice: one address
	}
	e := newNTSEnv(t, nts, cands...)
	rep, err := e.a.Run(t.Context(), agent.Options{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, agent.OutcomeDryRun, rep.Outcome)
	require.Len(t, nts.targets, 6)
	require.LessOrEqual(t, nts.peak, 2)
	require.Contains(t, rep.Notes, "nts: pre-flighted 6 address(es) with 6 key exchange(s)")
	require.Equal(t, []string{"nts: 10.0.9.1 (10.0.9.1:4460) gave 3 cookies in its key exchange, not 8: " +
		"chronyd will need key exchanges more often"}, rep.Warnings)
	c := reportOf(t, rep, addr(9))
	require.NotEqual(t, scoring.Rejected, c.Verdict, "a warning, not a failure: %s", c.Reason)
	require.Empty(t, c.AuthError)
	require.Empty(t, e.backend.plans, "a dry run changes nothing")
}

// TestPreflightNoRouteIsAnOutage: when every key exchange finds no route
// and nothing else answers, the run is an outage, not a verdict.
func TestPreflightNoRouteIsAnOutage(t *testing.T) {
	nts := &fakeNTS{results: map[netip.Addr]prober.NTSResult{
		addr(7): failed(fmt.Errorf("%w: connect: network is unreachable", prober.ErrNTSKEConnect), 0, ""),
		addr(8): failed(fmt.Errorf("%w: connect: network is unreachable", prober.ErrNTSKEConnect), 0, ""),
	}}
	e := newNTSEnv(t, nts, ntsCand(7), ntsCand(8))
	e.backend.sources = nil
	e.a.Settings.NTS.Options.Dial = pipeDial(addr(7), addr(8))
	rep, err := e.a.Run(t.Context(), agent.Options{})
	require.ErrorIs(t, err, agent.ErrOutage)
	require.Contains(t, err.Error(), "no route to any of the 2 servers probed")
	require.Equal(t, agent.OutcomeOutage, rep.Outcome)

	// Refused (the network works): a verdict.
	e.a.Settings.NTS.Options.Dial = pipeDial()
	_, err = e.a.Run(t.Context(), agent.Options{})
	require.False(t, errors.Is(err, agent.ErrOutage), "%v", err)
}
