package chronylive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// An audition measures new candidates inside chronyd instead of probing
// them: each address is added as a `noselect iburst` source, so chronyd
// polls it at its own burst rate (at most 4 requests 2 s apart while they
// are answered, IBURST_GOOD_SAMPLES in ntp_core.c) and keeps its
// statistics, but never lets it take part in the selection or the clock
// (update_sel_options in sources.c does not count noselect sources for
// authselectmode either). The agent scores the statistics like a probe's
// (Audition), a winner is promoted by Apply (promote) and the others are
// deleted (EndAudition).

// Audition defaults.
const (
	// DefaultAuditionTimeout bounds the wait for the auditioned sources'
	// samples: chronyd's iburst takes 3 × 2 s for 4 samples, plus the
	// slowest answer and chronyd's first-poll delay.
	DefaultAuditionTimeout = 12 * time.Second
	// auditionGrace is how long a source that has been sent its burst
	// (TotalTx ≥ the samples wanted) may take to answer the last request
	// before its audition ends with what it has: the prober's least final
	// wait (prober.DefaultFinalWaitMin), so that a silent candidate costs
	// a run no more time than its probe would.
	auditionGrace = 500 * time.Millisecond
)

// Promoter is what promotion on chrony 4.4 and later needs from the
// client (satisfied by *chronyctl.Client): MODIFY_SELECTOPTS to drop
// noselect, and RESELECT so chronyd uses the change at once. A client
// without it, or a chronyd that refuses MODIFY_SELECTOPTS (4.3), has a
// winner deleted and re-added.
type Promoter interface {
	ModifySelectOpts(ctx context.Context, a chronyctl.Addr, set, clear chronyctl.SelectOptions) error
	Reselect(ctx context.Context) error
	Burst(ctx context.Context, m chronyctl.Match, good, total int) error
}

func (c Config) auditionTimeout() time.Duration {
	return cmp.Or(c.AuditionTimeout, DefaultAuditionTimeout)
}

// CanAudition says why chronyd cannot audition candidates now, or "" when
// it can: it must take changes (not the read-only UDP port) and answer
// SELECT_DATA (chrony 4.2+), which tells an auditioned source (noselect)
// from the others when a later run cleans up.
func (b *Backend) CanAudition(ctx context.Context) string {
	if ro, ok := b.Client.(interface{ ReadOnly() bool }); ok && ro.ReadOnly() {
		return "chronyd is reached over its read-only UDP port"
	}
	srcs, err := b.Client.SourcesParts(ctx, chronyctl.PartSelect)
	if err != nil {
		return "reading chronyd's sources: " + err.Error()
	}
	for _, s := range srcs {
		if !s.Has.Select {
			return "chronyd does not answer SELECT_DATA (chrony 4.2 or later is needed)"
		}
	}
	return ""
}

// Audition adds servers as noselect iburst sources, waits (at most
// AuditionTimeout) until each has the samples a measurement needs
// (MinSamples), was sent them and went silent, or sent a kiss-o'-death
// (that source is deleted at once: a KoD ends its audition), and returns
// chronyd's measurement of each, by address, in the agent's offset
// convention (see measurement), with the kiss code from ntpdata (a KoD
// reply leaves leap 3, stratum 0 and the code as the reference ID). An
// address it did not audition has the reason in skipped (chronyd has it
// already, or refused it). The error is chronyd's, when it stopped
// answering; the sources added so far stay under audition until
// EndAudition.
func (b *Backend) Audition(ctx context.Context, servers []daemon.Server) (
	measured map[netip.Addr]scoring.Measurement, skipped map[netip.Addr]string, err error) {
	skipped = map[netip.Addr]string{}
	var added []netip.Addr
	for _, s := range servers {
		r := chronyctl.NewAddSource(chronyctl.TypeServer, s.Address.String())
		if s.Port != 0 {
			r.Port = uint32(s.Port)
		}
		if err := r.SetOptions(b.SourceOptions); err != nil {
			return nil, nil, fmt.Errorf("source options %q: %w", b.SourceOptions, err)
		}
		r.Flags |= chronyctl.FlagNoSelect | chronyctl.FlagIBurst
		err := b.Client.AddSource(ctx, r)
		switch {
		case errors.Is(err, chronyctl.ErrSourceExists):
			skipped[s.Address] = "not auditioned: already a source of chronyd"
			continue
		case errors.Is(err, chronyctl.ErrInvalid):
			skipped[s.Address] = "not auditioned: chronyd refused it: " + err.Error()
			continue
		case err != nil:
			return nil, skipped, fmt.Errorf("auditioning %s: %w", s.Address, err)
		}
		b.markAuditioned(s.Address, true)
		added = append(added, s.Address)
	}
	b.Log.Info().Int("sources", len(added)).Msg("auditioning candidates inside chronyd (noselect)")
	snap, err := b.waitAuditioned(ctx, added)
	if err != nil {
		return nil, skipped, err
	}
	var correction float64
	if tr, err := b.Client.Tracking(ctx); err == nil {
		correction = tr.CurrentCorrection
	}
	measured = map[netip.Addr]scoring.Measurement{}
	for _, a := range added {
		s, ok := snap[a]
		if !ok {
			skipped[a] = "not auditioned: chronyd dropped the source"
			continue
		}
		measured[a] = auditionMeasurement(&s, correction)
	}
	return measured, skipped, nil
}

// waitAuditioned polls chronyd until every added source is done (see
// Audition) and returns the last view of each; a source whose KoD ended
// its audition is deleted then.
func (b *Backend) waitAuditioned(ctx context.Context, added []netip.Addr) (map[netip.Addr]chronyctl.Source, error) {
	clk := clock.Or(b.Clock)
	deadline := clk.Now().Add(b.auditionTimeout())
	snap := map[netip.Addr]chronyctl.Source{}
	done := map[netip.Addr]bool{}
	burstAt := map[netip.Addr]time.Time{} // when the source had been sent its burst
	for len(done) < len(added) {
		srcs, err := b.Client.SourcesParts(ctx, chronyctl.PartStats|chronyctl.PartNTPData)
		if err != nil {
			return nil, fmt.Errorf("waiting for the auditioned sources: %w", err)
		}
		now := clk.Now()
		byAddr := map[netip.Addr]*chronyctl.Source{}
		for i := range srcs {
			byAddr[srcs[i].Address.IP] = &srcs[i]
		}
		for _, a := range added {
			if done[a] {
				continue
			}
			s := byAddr[a]
			if s == nil {
				done[a] = true
				continue
			}
			snap[a] = *s
			switch {
			case kissCode(s) != "":
				b.Log.Info().Str("addr", a.String()).Str("kod", kissCode(s)).Msg("kiss-o'-death at chronyd: audition ended")
				if err := b.Client.DeleteSource(ctx, chronyctl.AddrFromIP(a)); err == nil || errors.Is(err, chronyctl.ErrNoSuchSource) {
					b.markAuditioned(a, false)
				}
				done[a] = true
			case s.Has.Stats && int(s.Stats.Samples) >= b.minSamples():
				done[a] = true
			case s.Has.NTPData && int(s.NTP.TotalTx) >= b.minSamples():
				if burstAt[a].IsZero() {
					burstAt[a] = now
				}
				if now.Sub(burstAt[a]) >= auditionGrace {
					done[a] = true
				}
			}
		}
		if len(done) == len(added) || now.After(deadline) {
			return snap, nil
		}
		if err := clock.Sleep(ctx, clk, pollEvery); err != nil {
			return nil, fmt.Errorf("waiting for the auditioned sources: %w", err)
		}
	}
	return snap, nil
}

// auditionMeasurement is chronyd's view of an auditioned source as
// scoring's input: measurement's fields over the polls made so far (a
// young source is judged on those), no selection state (chronyd shows a
// noselect source '?' whatever it measured), and the kiss code.
func auditionMeasurement(s *chronyctl.Source, correction float64) scoring.Measurement {
	m := measurement(s, correction, 0)
	m.ChronydState = ""
	m.KoD = kissCode(s)
	if !s.Has.Stats || s.Stats.Samples == 0 {
		// No sample: nothing of the offset, delay or root values is known.
		m.Offset, m.Delay, m.Jitter = 0, 0, 0
	}
	if sent := int(min(s.NTP.TotalTx, 8)); sent > m.SamplesSent {
		m.SamplesSent = sent
	}
	if m.KoD == "" && s.Has.NTPData && s.NTP.TotalValid > 0 && unsynchronised(s) {
		// chronyd counts an unsynchronised reply neither in the reach
		// register nor as a sample (ntp_core.c: only a synced packet
		// updates reachability), but it was an answer, as the probe
		// counts it: rejected as unsynchronised, never taken for silence.
		m.SamplesOK = min(int(s.NTP.TotalValid), m.SamplesSent)
		m.Unsynchronized = true
	}
	return m
}

// unsynchronised says a source's last reply was unsynchronised (RFC 5905
// section 7.3: leap 3, stratum 0 or 16 and up).
func unsynchronised(s *chronyctl.Source) bool {
	return s.NTP.Leap == 3 || s.NTP.Stratum == 0 || s.NTP.Stratum >= 16
}

// kissCode is the kiss code of a source's last reply (RFC 5905 section
// 7.4: leap 3, stratum 0, the code as the reference ID), or "".
func kissCode(s *chronyctl.Source) string {
	if !s.Has.NTPData || s.NTP.TotalRx == 0 || s.NTP.Leap != 3 || s.NTP.Stratum != 0 {
		return ""
	}
	code := chronyctl.RefIDText(s.NTP.RefID)
	if len(code) != 4 {
		return ""
	}
	return code
}

// EndAudition deletes every address of addrs that chronyd still has as a
// noselect source (SELECT_DATA's configured options): the losers of this
// run, or what a killed run left. A promoted winner has lost noselect and
// stays. A source whose selection data chronyd does not give is deleted
// only when this backend auditioned it and did not promote it. It returns
// the addresses deleted.
func (b *Backend) EndAudition(ctx context.Context, addrs []netip.Addr) ([]netip.Addr, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	srcs, err := b.Client.SourcesParts(ctx, chronyctl.PartSelect)
	if err != nil {
		return nil, fmt.Errorf("ending the audition: reading chronyd's sources: %w", err)
	}
	want := map[netip.Addr]bool{}
	for _, a := range addrs {
		want[a] = true
	}
	var deleted []netip.Addr
	var errs []error
	for _, s := range srcs {
		a := s.Address.IP
		if !want[a] {
			continue
		}
		under := s.Has.Select && s.Select.ConfOptions&chronyctl.SelectNoSelect != 0
		if !s.Has.Select {
			under = b.auditioning(a)
		}
		if !under {
			continue
		}
		err := b.Client.DeleteSource(ctx, s.Address)
		if err != nil && !errors.Is(err, chronyctl.ErrNoSuchSource) {
			errs = append(errs, fmt.Errorf("deleting the auditioned source %s: %w", a, err))
			continue
		}
		b.markAuditioned(a, false)
		deleted = append(deleted, a)
	}
	return deleted, errors.Join(errs...)
}

// promote makes an auditioned source a normal one: on chrony 4.4+
// MODIFY_SELECTOPTS -noselect keeps its samples (a RESELECT makes chronyd
// use it at once, a one-sample burst gives it the fresh sample chronyd
// needs to update its reference); on 4.3 it is deleted and added again as
// any new source (with SourceOptions: a fresh iburst).
func (b *Backend) promote(ctx context.Context, s daemon.Server) error {
	a := chronyctl.AddrFromIP(s.Address)
	if p, ok := b.Client.(Promoter); ok {
		err := p.ModifySelectOpts(ctx, a, 0, chronyctl.SelectNoSelect)
		if err == nil {
			b.markAuditioned(s.Address, false)
			if err := p.Reselect(ctx); err != nil {
				b.Log.Debug().Err(err).Msg("reselect after promotion")
			}
			// One more sample now (burst 1/2): chronyd updates its
			// reference, and so its leap status, only when the selected
			// source has a new sample, and after its iburst the promoted
			// source would not be polled again for minpoll (64 s) —
			// beyond the verification's wait. One packet, not four.
			if err := p.Burst(ctx, chronyctl.MatchAddr(a), 1, 2); err != nil {
				b.Log.Debug().Err(err).Msg("burst after promotion")
			}
			b.Log.Info().Str("addr", s.Address.String()).Msg("promoted from audition (selectopts -noselect)")
			return nil
		}
		if !errors.Is(err, chronyctl.ErrUnsupported) {
			return fmt.Errorf("promoting %s: %w", s.Address, err)
		}
	}
	if err := b.Client.DeleteSource(ctx, a); err != nil && !errors.Is(err, chronyctl.ErrNoSuchSource) {
		return fmt.Errorf("promoting %s (delete and re-add): %w", s.Address, err)
	}
	b.markAuditioned(s.Address, false)
	if err := b.add(ctx, s); err != nil {
		return fmt.Errorf("promoting %s (re-adding it): %w", s.Address, err)
	}
	b.Log.Info().Str("addr", s.Address.String()).Msg("promoted from audition (deleted and re-added)")
	return nil
}

// markAuditioned records that this backend has addr under audition (on)
// or no longer (off).
func (b *Backend) markAuditioned(addr netip.Addr, on bool) {
	b.auditionMu.Lock()
	defer b.auditionMu.Unlock()
	if on {
		if b.auditioned == nil {
			b.auditioned = map[netip.Addr]bool{}
		}
		b.auditioned[addr] = true
		return
	}
	delete(b.auditioned, addr)
}

// auditioning says this backend has addr under audition.
func (b *Backend) auditioning(addr netip.Addr) bool {
	b.auditionMu.Lock()
	defer b.auditionMu.Unlock()
	return b.auditioned[addr]
}
