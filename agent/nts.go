package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
)

// The Skip reasons of the NTS part of the measure stage.
const (
	// ntsHeld holds an NTS candidate's address back from the plain probe:
	// it is pre-flighted instead.
	ntsHeld = "nts: pre-flighted instead of probed"
	// ntsShared is a plain candidate's address that an NTS candidate
	// has too: it is measured once, by the NTS candidate's measurement.
	ntsShared = "measured with the NTS candidate of the same address"
)

// NTSNotChecked is the AuthError of an NTS candidate in a run without an
// NTSChecker: never added unverified.
const NTSNotChecked = "nts: not checked (no pre-flight)"

// ntsCookiesExpected is what chronyd's NTS-KE server sends (NTS_MAX_COOKIES
// in chrony's nts_ke.h; RFC 8915 section 4 recommends 8). Fewer is worth a
// warning, not a failure: chronyd then needs key exchanges more often.
const ntsCookiesExpected = 8

// NTSCheck is one address's NTS pre-flight, as Evaluate and the outage
// detection use it.
type NTSCheck struct {
	// Name is what the certificate was checked against.
	Name string
	// KE is the address the key exchange went to (invalid: none tried).
	KE netip.AddrPort
	// Cookies are the cookies the key exchange gave.
	Cookies int
	// AuthError is why the pre-flight failed (the text of one of
	// prober.ErrNTS*, or NTSNotChecked); "" when it passed. Scoring
	// rejects the candidate with it.
	AuthError string
	// KeyExchanges counts the NTS-KE connections tried: one per address
	// and run (politeness).
	KeyExchanges int
	// Connected: a key exchange's TCP connection was accepted (the
	// network works, whatever came after). NoRoute: it failed for want of
	// a route from this machine (ENETUNREACH, EHOSTUNREACH).
	Connected, NoRoute bool
}

// splitNTS separates the candidates to use with NTS from the others.
func splitNTS(cs []discovery.Candidate) (plain, nts []discovery.Candidate) {
	for _, c := range cs {
		if c.Auth == discovery.AuthNTS {
			nts = append(nts, c)
		} else {
			plain = append(plain, c)
		}
	}
	return plain, nts
}

// preflight runs the NTS pre-flight of every result the probe held back
// (Skipped ntsHeld), at most Settings.NTS.Parallel at once, one key
// exchange per address, and replaces each such result with the
// pre-flight's authenticated samples summarised as the probe summarises
// its own. A failed pre-flight is not a silence (its result has no samples
// sent) unless the authenticated requests went unanswered
// (prober.ErrNTSNoAuthReply), like a probe's. It returns the checks by
// address and the warnings for the report.
func (a *Agent) preflight(ctx context.Context, probes []prober.Result, cands map[string]*discovery.Candidate,
	log zerolog.Logger) (map[netip.Addr]NTSCheck, []string) {
	checks := map[netip.Addr]NTSCheck{}
	var (
		mu       sync.Mutex
		warnings []string
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, max(1, a.Settings.NTS.Parallel))
	for i := range probes {
		r := &probes[i]
		if r.Skipped != ntsHeld || !r.Address.IsValid() {
			continue
		}
		name := r.Server
		if c := candidateOf(r, cands); c != nil {
			name = c.Name
		}
		r.Skipped = ""
		if a.NTS == nil {
			r.Err = NTSNotChecked
			checks[r.Address] = NTSCheck{Name: name, AuthError: NTSNotChecked}
			continue
		}
		// The certificate must be valid for the name the server is added
		// by (chronylive and the ntpd backend add NTS servers by name).
		t := prober.NTSTarget{Name: name, Address: r.Address}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			chk, warn := a.preflightOne(ctx, r, t, log)
			mu.Lock()
			defer mu.Unlock()
			checks[r.Address] = chk
			if warn != "" {
				warnings = append(warnings, warn)
			}
		})
	}
	wg.Wait()
	return checks, warnings
}

// preflightOne pre-flights t and puts what it measured into r.
func (a *Agent) preflightOne(ctx context.Context, r *prober.Result, t prober.NTSTarget, log zerolog.Logger) (NTSCheck, string) {
	chk := NTSCheck{Name: t.Name}
	o := a.Settings.NTS.Options
	o.Dial = countDial(o.Dial, &chk)
	res := a.NTS.PreflightNTS(ctx, t, o)
	chk.KE, chk.Cookies = res.KEAddr, res.Cookies
	if chk.KeyExchanges == 0 {
		chk.KE = netip.AddrPort{}
	}
	out := prober.Result{Server: r.Server, Aliases: r.Aliases, Address: r.Address, Port: r.Port, Samples: res.Samples}
	prober.Summarize(&out)
	out.NoRoute = out.NoRoute || chk.NoRoute && !chk.Connected
	l := log.With().Str("server", t.Name).Str("addr", r.Address.String()).Str("nts_ke", chk.KE.String()).Logger()
	var warn string
	if res.OK {
		l.Info().Int("cookies", res.Cookies).Int("samples_ok", out.SamplesOK).Msg("nts pre-flight passed")
		if res.Cookies < ntsCookiesExpected {
			warn = fmt.Sprintf("nts: %s (%s) gave %d cookies in its key exchange, not %d: chronyd will need key exchanges more often",
				t.Name, chk.KE, res.Cookies, ntsCookiesExpected)
		}
	} else {
		out.Err, chk.AuthError = res.Reason, res.Reason
		if out.SamplesOK == 0 && out.KoD == "" && !errors.Is(res.Err, prober.ErrNTSNoAuthReply) {
			// Refused before or at the authenticated exchange (a
			// certificate, the key exchange, a NAK): not a silence.
			out.SamplesSent = 0
		}
		l.Info().Str("reason", res.Reason).Msg("nts pre-flight failed: not added")
	}
	*r = out
	return chk, warn
}

// countDial wraps a pre-flight's dialer: it counts the key exchanges (TCP
// connections) and notes whether one was accepted or found no route.
func countDial(dial func(ctx context.Context, network, address string) (net.Conn, error), chk *NTSCheck) func(
	ctx context.Context, network, address string) (net.Conn, error) {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := dial(ctx, network, address)
		if network == "tcp" || network == "tcp4" || network == "tcp6" {
			chk.KeyExchanges++
			chk.Connected = chk.Connected || err == nil
			chk.NoRoute = chk.NoRoute || errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
		}
		return c, err
	}
}

// keyExchanges counts the run's NTS-KE connections.
func keyExchanges(checks map[netip.Addr]NTSCheck) int {
	n := 0
	for _, c := range checks {
		n += c.KeyExchanges
	}
	return n
}
