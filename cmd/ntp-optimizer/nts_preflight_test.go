package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ntp-optimizer/ntp-optimizer/agent"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/chronyctl/chronytest"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// keProxy forwards the default NTS-KE port of s's address to the lab's
// random one: the lists have no ntsport option, so the agent and the
// chronyd it adds the server to use 4460.
func keProxy(t *testing.T, s *chronytest.NTSServer) {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(s.Addr, prober.DefaultNTSKEPort).String())
	require.NoError(t, err)
	to := netip.AddrPortFrom(s.Addr, uint16(s.NTSPort)).String()
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				u, err := net.DialTimeout("tcp", to, 2*time.Second)
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{})
				go func() { _, _ = io.Copy(u, c); _ = u.(*net.TCPConn).CloseWrite(); close(done) }()
				_, _ = io.Copy(c, u)
				_ = c.(*net.TCPConn).CloseWrite()
				<-done
			})
		}
	})
}

// TestApplyNTSPreflight: a servers file lists five lab NTS servers with
// nts; the client chronyd trusts their certificates (ntstrustedcerts),
// and so does the agent, from chrony.conf. Only the one that passes the
// pre-flight is added, with NTS (authdata), and each other one is
// rejected with its reason; --dry-run pre-flights and changes nothing.
func TestApplyNTSPreflight(t *testing.T) {
	chronytest.NeedNTS(t, chronytest.V43)
	type server struct {
		name   string
		opt    chronytest.NTSServerOptions
		reason error // nil: passes
	}
	servers := []server{
		{name: "good", opt: chronytest.NTSServerOptions{}},
		{name: "untrusted", opt: chronytest.NTSServerOptions{Kind: chronytest.CertUntrusted}, reason: prober.ErrNTSUnknownAuthority},
		{name: "expired", opt: chronytest.NTSServerOptions{Kind: chronytest.CertExpired}, reason: prober.ErrNTSCertExpired},
		{name: "ke-only", opt: chronytest.NTSServerOptions{KEOnly: true}, reason: prober.ErrNTSNoAuthReply},
		{name: "nak", opt: chronytest.NTSServerOptions{NAK: true}, reason: prober.ErrNTSNAK},
	}
	lab := make([]*chronytest.NTSServer, len(servers))
	for i, s := range servers {
		lab[i] = chronytest.StartNTSServer(t, s.opt)
	}
	dir := t.TempDir()
	var conf, list []string
	for i, s := range lab {
		keProxy(t, s)
		conf = append(conf, "ntstrustedcerts "+s.Cert.TrustFile)
		list = append(list, fmt.Sprintf("%s nts  # %s", s.Addr, servers[i].name))
	}
	conf = append(conf, "ntsdumpdir "+filepath.Join(dir, "ntsdump"))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "ntsdump"), 0o700))
	d := chronytest.Start(t, chronytest.Options{Config: conf, SourceDir: true})
	file := filepath.Join(dir, "servers")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(list, "\n")+"\n"), 0o644))
	args := []string{"apply", "--json", "--no-schedule", "--chrony-socket", d.Socket, "--chrony-conf", d.Conf(),
		"--state-dir", filepath.Join(dir, "state"), "--servers-file", file, "--no-discovery",
		"--spacing", "100ms", "--samples", "3", "--timeout", "1s", "--source-options", fastPoll,
		"--answer-timeout", "10s", "--verify-timeout", "20s"}
	run := func(more ...string) agent.Report {
		t.Helper()
		out, stderr, code := runSerial(t, append(args, more...)...)
		var r agent.Report
		require.NoError(t, json.Unmarshal([]byte(out), &r), "stdout: %s\nstderr: %s", out, stderr)
		require.Zero(t, code, "stderr: %s\nreport: %s", stderr, out)
		return r
	}
	check := func(r agent.Report) {
		t.Helper()
		byAddr := map[netip.Addr]agent.CandidateReport{}
		for _, c := range r.Candidates {
			byAddr[c.Address] = c
		}
		for i, s := range lab {
			c, ok := byAddr[s.Addr]
			require.True(t, ok, "%s in the report", servers[i].name)
			t.Logf("%s: %s, nts_ke %s, nts_cookies %d, samples %d/%d: %s", servers[i].name, c.Verdict, c.NTSKE, c.NTSCookies,
				c.SamplesOK, c.SamplesSent, c.Reason)
			require.Equal(t, "nts", c.Auth, servers[i].name)
			require.Equal(t, netip.AddrPortFrom(s.Addr, prober.DefaultNTSKEPort).String(), c.NTSKE, servers[i].name)
			if servers[i].reason == nil {
				require.Equal(t, scoring.Selected, c.Verdict, "%s: %s", servers[i].name, c.Reason)
				require.Empty(t, c.AuthError)
				require.Equal(t, 8, c.NTSCookies)
				require.Equal(t, 3, c.SamplesOK, "authenticated samples")
				continue
			}
			require.Equal(t, scoring.Rejected, c.Verdict, servers[i].name)
			require.True(t, strings.HasPrefix(c.AuthError, servers[i].reason.Error()), "%s: auth_error %q, want %q",
				servers[i].name, c.AuthError, servers[i].reason)
			require.Contains(t, c.Reason, servers[i].reason.Error())
			for _, a := range r.Added {
				require.NotEqual(t, s.Addr, a.Address, "%s added", servers[i].name)
			}
		}
	}

	dry := run("--dry-run")
	check(dry)
	require.Equal(t, agent.OutcomeDryRun, dry.Outcome)
	require.Equal(t, []string{lab[0].Addr.String()}, dry.Selected)
	require.Empty(t, (&applyEnv{t: t, d: d}).sources(), "a dry run changes nothing")

	rep := run()
	check(rep)
	require.Equal(t, agent.OutcomeApplied, rep.Outcome)
	require.Len(t, rep.Added, 1)
	require.Equal(t, lab[0].Addr, rep.Added[0].Address)
	require.Equal(t, []string{lab[0].Addr.String()}, (&applyEnv{t: t, d: d}).sources())

	c := d.Client(t)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ad, err := c.AuthData(t.Context(), chronyctl.AddrFromIP(lab[0].Addr))
		require.NoError(t, err)
		if ad.Mode == chronyctl.AuthNTS && ad.Cookies > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the added source has no NTS cookies:\n%s\n%s", d.Chronyc(t, "-n", "authdata"), d.Log())
		}
	}
}
