package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab"
	"github.com/ntp-optimizer/ntp-optimizer/ntplab/labtest"
)

// ntsEnv is the reproduction: chronyd on two NTS sources (chrony
// NTS servers in the lab, trusted with ntstrustedcerts) and a servers list
// of plain lab servers that score better.
func ntsEnv(t *testing.T, v chronytest.Version, clientConf ...string) (*applyEnv, []*chronytest.NTSServer) {
	t.Helper()
	var srvs []*chronytest.NTSServer
	var conf []string
	dir := t.TempDir()
	for range 2 {
		// Stratum 3: within the bounds, but below the plain servers' score.
		s := chronytest.StartNTSServer(t, chronytest.NTSServerOptions{Version: v, Config: []string{"local stratum 3"}})
		srvs = append(srvs, s)
		conf = append(conf, s.ClientConfig(t, dir, fastPoll)...)
	}
	lab := labtest.StartWith(t, labtest.Scenario(t, t.Name(), demoProfiles()[:4]...), ntplab.Options{Spread: true})
	// authselectmode ignore: chronyd's default (mix) would itself refuse to
	// select plain sources beside NTS ones whose intervals they do not sit
	// in ('T', untrusted), so the agent's verification would roll a trade
	// back; the test is about the agent's own policy.
	conf = append(conf, clientConf...)
	d := chronytest.Start(t, chronytest.Options{Version: v, Config: conf, SourceDir: true})
	e := labEnv(t, lab, d)
	for _, s := range srvs {
		require.True(t, chronytest.SyncedOverNTS(t, d, s) || ntsAuthenticated(t, d, s), "chronyd never authenticated %s", s.Addr)
	}
	return e, srvs
}

// ntsAuthenticated says chronyd has s as a source authenticated with NTS
// (authdata mode NTS, cookies held).
func ntsAuthenticated(t *testing.T, d *chronytest.Daemon, s *chronytest.NTSServer) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ad, err := d.Client(t).AuthData(ctx, chronyctl.AddrFromIP(s.Addr))
	return err == nil && ad.Mode == chronyctl.AuthNTS && ad.Cookies > 0
}

// TestNTSNeverTradedForPlain (issue 13): an eager configuration
// (hysteresis 0, stability 1, set of two) over several runs keeps both NTS
// sources under the default policy, each run's decision says why, and the
// sources file keeps nts; --authentication off (the control) trades them
// for the better-scoring plain servers, as before NTS was known.
func TestNTSNeverTradedForPlain(t *testing.T) {
	for _, v := range []chronytest.Version{chronytest.V43, chronytest.V46} {
		t.Run(string(v), func(t *testing.T) {
			e, srvs := ntsEnv(t, v, "authselectmode ignore")
			prom := filepath.Join(t.TempDir(), "ntp-optimizer.prom")
			e.extra = []string{"--hysteresis-percent", "0", "--stability-threshold", "1",
				"--set-size", "2", "--min-set-size", "2", "--max-changes", "8", "--metrics-file", prom}
			var nts []string
			for _, s := range srvs {
				nts = append(nts, s.Addr.String())
			}
			slices.Sort(nts)

			// --dry-run first: nothing changes.
			r, stderr, code := e.apply("--dry-run")
			require.Equal(t, 0, code, stderr)
			require.Equal(t, nts, e.sources())

			for run := 1; run <= 3; run++ {
				r, stderr, code = e.apply()
				require.Equal(t, 0, code, "run %d: %s", run, stderr)
				require.Equal(t, nts, e.sources(), "run %d: the NTS sources stay", run)
				for _, s := range srvs {
					require.True(t, ntsAuthenticated(t, e.d, s), "run %d: %s still authenticated", run, s.Addr)
				}
				// The control: at least two plain servers score better than
				// the best NTS source, so the eager settings would take both.
				best, beaten := max(scoreOf(r.Candidates, nts[0]), scoreOf(r.Candidates, nts[1])), 0
				for _, c := range r.Candidates {
					if c.Auth == "nts" {
						require.Equal(t, "selected", string(c.Verdict), "run %d %s: %s", run, c.Address, c.Reason)
					} else if c.Verdict != "rejected" && c.Score > best {
						beaten++
					}
				}
				require.GreaterOrEqual(t, beaten, 2, "run %d: the control — plain servers score better than the NTS sources", run)
				time.Sleep(time.Second)
			}
			// The sources file keeps nts and the configured ntsport: after a
			// chronyd restart the key exchange must go to the same port.
			data, err := os.ReadFile(filepath.Join(e.d.SourceDir, "ntp-optimizer.sources"))
			require.NoError(t, err)
			for _, s := range srvs {
				want := fmt.Sprintf("ntsport %d nts", s.NTSPort)
				require.Contains(t, string(data), "server "+s.Addr.String()+" ", "%s in the sources file", s.Addr)
				for _, l := range lines(string(data)) {
					if strings.HasPrefix(l, "server "+s.Addr.String()+" ") {
						require.Contains(t, l, want, "the sources file keeps nts and ntsport")
					}
				}
			}

			m, err := os.ReadFile(prom)
			require.NoError(t, err)
			require.Contains(t, string(m), "\nntp_optimizer_selected_nts_sources 2\n")
			require.Contains(t, string(m), fmt.Sprintf("ntp_optimizer_server_nts{address=%q,server=%q,source_address=%q,source_name=%q} 1",
				nts[0], nts[0], nts[0], nts[0]))

			// The control: off trades them on score.
			_, stderr, code = e.apply("--authentication", "off")
			require.Equal(t, 0, code, "%s\n%s", stderr, e.d.Chronyc(t, "-n", "sources", "-v"))
			require.NotEqual(t, nts, e.sources(), "off: plain servers replace the NTS sources")
		})
	}
}

// scoreOf is the score of addr's candidate in cs, 0 when absent.
func scoreOf(cs []agent.CandidateReport, addr string) float64 {
	for _, c := range cs {
		if c.Address.String() == addr {
			return c.Score
		}
	}
	return 0
}

// TestNTSAuthSelectModeMix: with chronyd's default authselectmode (mix),
// plain servers added beside NTS sources that do not sit inside their
// interval are untrusted ('T'): even --authentication off cannot trade the
// NTS sources, the verification rolls the change back (exit 3) and the
// reason says why.
func TestNTSAuthSelectModeMix(t *testing.T) {
	e, srvs := ntsEnv(t, chronytest.V43)
	e.extra = []string{"--hysteresis-percent", "0", "--stability-threshold", "1",
		"--set-size", "2", "--min-set-size", "2", "--max-changes", "8", "--authentication", "off"}
	before := e.sources()
	r, stderr, code := e.apply()
	require.Equal(t, 3, code, stderr)
	require.Contains(t, r.Reason, "authselectmode mix", "%+v", r)
	require.Equal(t, before, e.sources())
	for _, s := range srvs {
		require.True(t, ntsAuthenticated(t, e.d, s))
	}
}
