package agent

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/prober"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// The measure modes (testing.measure).
const (
	// MeasureAuto auditions new candidates inside the daemon when it can
	// (chronyd, not a dry run), and probes them otherwise.
	MeasureAuto = "auto"
	// MeasureChronyd is MeasureAuto that warns when it cannot audition.
	MeasureChronyd = "chronyd"
	// MeasureProbe always probes new candidates directly.
	MeasureProbe = "probe"
)

// MeasureModes lists the modes, for validation.
var MeasureModes = []string{MeasureAuto, MeasureChronyd, MeasureProbe}

// AuditionSpacing is the least time between two requests of the daemon's
// audition (chronyd's iburst: 2 s). A candidate whose operator asks for
// more (min_spacing), or a run whose testing.spacing is longer, is probed
// at the asked spacing instead.
const AuditionSpacing = 2 * time.Second

// MaxAuditions is the most addresses under audition at once; the others
// are probed meanwhile. chronyd keeps every two requests of its NTP
// client at least min(0.2 s, 2^(poll−3) s) apart (get_separation in
// ntp_core.c: "up to 8 sources using the same short interval" are not
// delayed), so more than 8 bursts of 2 s would stretch every audition:
// 40 at once give each source 1 or 2 samples in 9 s.
const MaxAuditions = 8

// auditionCleanupTimeout bounds the deletion of the auditioned sources at
// the end of a run, also of a cancelled one.
const auditionCleanupTimeout = 10 * time.Second

// auditionHeld holds a new candidate's address back from the probe: it is
// auditioned inside the daemon instead.
const auditionHeld = "auditioned inside the daemon"

// probeBeside holds one of the daemon's own addresses that needs a probe
// back from the first probe pass when there is an audition: it is probed
// while the daemon auditions, not before (the two take about as long).
const probeBeside = "probed while the daemon auditions"

// Auditioner is a backend that can measure new candidates itself
// (chronylive.Backend): it adds them as sources that never take part in
// the selection (chronyd's noselect), reads its statistics of them, lets
// Apply promote the winners and deletes the rest.
type Auditioner interface {
	// CanAudition says why the daemon cannot audition now, or "".
	CanAudition(ctx context.Context) string
	// Audition adds the servers under audition, waits for their samples
	// and returns the daemon's measurement of each it auditioned, and why
	// it did not audition the others.
	Audition(ctx context.Context, servers []daemon.Server) (map[netip.Addr]scoring.Measurement, map[netip.Addr]string, error)
	// EndAudition deletes the addresses the daemon still has under
	// audition (not promoted) and returns them.
	EndAudition(ctx context.Context, addrs []netip.Addr) ([]netip.Addr, error)
}

// auditioner returns the backend when this run auditions its new
// candidates, else nil: under probe, in a dry run (which must not add even
// a noselect source), with a backend that cannot, with a probe spacing
// longer than chronyd's burst, or without a usable state directory (what
// is under audition must be recorded before it is added). Under chronyd
// the reason is a warning.
//
// Nor does a run audition when the daemon heard none of its sources at its
// latest polls (an outage here, most likely): its own path says nothing
// then, and the probe, which gives up sooner, keeps such runs short.
func (a *Agent) auditioner(ctx context.Context, rep *Report, opt Options, stateErr error, sources []daemon.Source) Auditioner {
	mode := cmp.Or(a.Measure, MeasureAuto)
	if mode == MeasureProbe || opt.DryRun {
		return nil
	}
	au, ok := a.Backend.(Auditioner)
	var why string
	switch {
	case !ok:
		why = a.Backend.Name() + " cannot audition candidates"
	case a.Spacing > AuditionSpacing:
		why = fmt.Sprintf("testing.spacing %v is longer than chronyd's burst spacing %v", a.Spacing, AuditionSpacing)
	case stateErr != nil:
		why = "the state directory is unusable, and what is under audition must be recorded before it is added"
	case deaf(sources):
		why = a.Backend.Name() + " heard none of its sources at its latest polls"
	default:
		why = au.CanAudition(ctx)
	}
	if why == "" {
		return au
	}
	if mode == MeasureChronyd {
		rep.warn("testing.measure chronyd: " + why + ": the new candidates were probed instead")
	}
	return nil
}

// audition measures the probe results held back for the daemon (Skipped
// auditionHeld): at most MaxAuditions addresses of at most
// max_servers_to_test names, of candidates whose operators accept
// chronyd's spacing. The others, and the daemon's own addresses held back
// to be probed beside it (probeBeside), are probed while the daemon
// auditions (all of them when the write-ahead record cannot be saved). The
// addresses are recorded in st.Auditions (and the state saved) before
// the daemon is asked for them. Each auditioned result gets the
// audition's counts (for the outage check), and the daemon's
// measurements are returned for Evaluate, with the probe's origin: they
// are scored and tallied as the probe's (see scoring.Tallies).
func (a *Agent) audition(ctx context.Context, au Auditioner, probes []prober.Result, cands []discovery.Candidate,
	st *State, now time.Time, runID string, log zerolog.Logger) ([]scoring.Measurement, []string, error) {
	index := candidateIndex(cands)
	limit := a.Discovery.MaxCandidates
	var held, reprobe []int
	names := map[string]bool{} // the names auditioned
	for i := range probes {
		r := &probes[i]
		if r.Skipped == probeBeside {
			reprobe = append(reprobe, i)
			continue
		}
		if r.Skipped != auditionHeld {
			continue
		}
		name := strings.ToLower(r.Server)
		if spacing(r, index) > AuditionSpacing || limit > 0 && !names[name] && len(names) >= limit ||
			len(held) >= MaxAuditions {
			reprobe = append(reprobe, i)
			continue
		}
		names[name] = true
		held = append(held, i)
	}
	var notes []string
	if len(held) > 0 {
		if st.Auditions == nil {
			st.Auditions = map[string]ManagedSource{}
		}
		for _, i := range held {
			r := &probes[i]
			st.Auditions[r.Address.String()] = ManagedSource{Name: r.Server, Port: r.Port, AddedAt: now, RunID: runID}
		}
		if err := a.Store.SaveState(*st); err != nil {
			log.Warn().Err(err).Msg("audition not recorded: probing the candidates instead")
			notes = append(notes, "the audition could not be recorded before it began ("+err.Error()+"): the new candidates were probed")
			for _, i := range held {
				delete(st.Auditions, probes[i].Address.String())
			}
			reprobe, held = append(reprobe, held...), nil
		}
	}
	if len(held) == 0 {
		return nil, notes, a.reprobe(ctx, probes, reprobe, index, log)
	}
	// The others are probed while the daemon auditions.
	probed := make(chan error, 1)
	go func() { probed <- a.reprobe(ctx, probes, reprobe, index, log) }()
	servers := make([]daemon.Server, len(held))
	for k, i := range held {
		servers[k] = daemon.Server{Address: probes[i].Address, Port: probes[i].Port, Name: probes[i].Server}
	}
	measured, skipped, err := au.Audition(ctx, servers)
	perr := <-probed
	if err != nil {
		return nil, notes, fmt.Errorf("auditioning the candidates: %w", err)
	}
	if perr != nil {
		return nil, notes, perr
	}
	var out []scoring.Measurement
	answered := 0
	for _, i := range held {
		r := &probes[i]
		m, ok := measured[r.Address]
		if !ok {
			r.Skipped = cmp.Or(skipped[r.Address], "not auditioned")
			delete(st.Auditions, r.Address.String())
			continue
		}
		// Scored as the probe's measurement would be, and tallied with
		// the new candidates: an audition's silence counts against it only
		// when the other new candidates answered, whatever the daemon's
		// own sources (their registers may still show an outage) did.
		m.Origin = scoring.OriginProbe
		r.Skipped, r.SamplesSent, r.SamplesOK, r.KoD = "", m.SamplesSent, m.SamplesOK, m.KoD
		if m.SamplesOK > 0 {
			answered++
		}
		out = append(out, m)
	}
	notes = append(notes, fmt.Sprintf("auditioned %d new address(es) inside %s (noselect): %d answered",
		len(out), a.Backend.Name(), answered))
	return out, notes, nil
}

// deaf says the daemon polls NTP sources and none answered its latest
// poll.
func deaf(sources []daemon.Source) bool {
	polled := false
	for _, d := range sources {
		if d.Refclock || !d.HasReach {
			continue
		}
		if d.Fresh() {
			return false
		}
		polled = true
	}
	return polled
}

// spacing is the least spacing the operators of a result's names ask for.
func spacing(r *prober.Result, index map[string]*discovery.Candidate) time.Duration {
	var d time.Duration
	for _, n := range append([]string{r.Server}, r.Aliases...) {
		if c := index[strings.ToLower(n)]; c != nil {
			d = max(d, c.MinSpacing)
		}
	}
	return d
}

// reprobe probes held-back results after all, by address, at their
// operators' spacing, and puts the measurements in their place (names and
// aliases kept).
func (a *Agent) reprobe(ctx context.Context, probes []prober.Result, idx []int, index map[string]*discovery.Candidate,
	log zerolog.Logger) error {
	if len(idx) == 0 {
		return nil
	}
	targets := make([]prober.Target, len(idx))
	for k, i := range idx {
		r := &probes[i]
		targets[k] = prober.Target{Name: r.Address.String(), Port: r.Port, MinSpacing: spacing(r, index)}
	}
	res, err := a.Prober.Probe(ctx, targets, prober.RunOptions{Log: &log})
	if err != nil {
		return fmt.Errorf("measuring servers: %w", err)
	}
	byAddr := map[netip.Addr]prober.Result{}
	for _, r := range res {
		byAddr[r.Address] = r
	}
	for _, i := range idx {
		old := &probes[i]
		r, ok := byAddr[old.Address]
		if !ok {
			old.Skipped = "not measured"
			continue
		}
		r.Server, r.Aliases = old.Server, old.Aliases
		*old = r
	}
	return nil
}

// endAuditions deletes what the daemon still has under audition of the
// addresses in st.Auditions — this run's losers at its end, or at the
// start what a killed run left — and forgets the record when that
// worked. A cancelled run still gets a bounded chance. The error is the
// daemon's; the record is then kept for the next run.
func (a *Agent) endAuditions(ctx context.Context, rep *Report, st *State, left bool, log zerolog.Logger) error {
	if len(st.Auditions) == 0 {
		return nil
	}
	au, ok := a.Backend.(Auditioner)
	if !ok {
		return nil // not chronyd this time: kept for a run that is
	}
	var addrs []netip.Addr
	for _, s := range slices.Sorted(maps.Keys(st.Auditions)) {
		if ip, err := netip.ParseAddr(s); err == nil {
			addrs = append(addrs, ip)
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditionCleanupTimeout)
	defer cancel()
	deleted, err := au.EndAudition(cctx, addrs)
	if err != nil {
		log.Warn().Err(err).Msg("the auditioned sources could not all be deleted: the next run deletes them")
		rep.warn("the sources under audition could not all be deleted (the next run deletes them): " + oneLine(err))
		return err
	}
	if len(deleted) > 0 {
		what := "deleted %d auditioned source(s) that were not selected"
		if left {
			what = "deleted %d source(s) an earlier run left under audition"
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf(what, len(deleted)))
		log.Info().Int("deleted", len(deleted)).Bool("left_over", left).Msg("audition ended")
	}
	st.Auditions = nil
	return nil
}

// hideAuditions leaves the sources a killed run left under audition out
// of a dry run's view (the next apply deletes them).
func hideAuditions(rep *Report, st *State, sources []daemon.Source) []daemon.Source {
	if len(st.Auditions) == 0 {
		return sources
	}
	n := len(sources)
	sources = slices.DeleteFunc(slices.Clone(sources), func(d daemon.Source) bool {
		_, under := st.Auditions[d.Address.String()]
		return d.Address.IsValid() && under
	})
	if n > len(sources) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d source(s) an earlier run left under audition are not counted: "+
			"the next apply deletes them", n-len(sources)))
	}
	return sources
}

// Cleanup deletes the sources earlier runs left under audition (apply
// --cleanup), under the run lock, and saves the state. It returns the
// report's notes and warnings in a Report with only those.
func (a *Agent) Cleanup(ctx context.Context) (*Report, error) {
	lock, err := a.Store.Lock(ctx, a.LockWait)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	rep := &Report{RunID: newRunID(), Time: a.now().UTC(), Backend: a.Backend.Name(), Selected: []string{},
		Added: []scoring.Change{}, Removed: []scoring.Change{}, Outcome: OutcomeUnchanged}
	st, _, err := a.Store.LoadState()
	if err != nil {
		return rep, err
	}
	if len(st.Auditions) == 0 {
		rep.Notes = append(rep.Notes, "nothing under audition")
		return rep, nil
	}
	if _, ok := a.Backend.(Auditioner); !ok {
		return rep, fmt.Errorf("%d source(s) are recorded under audition, but %s cannot end an audition", len(st.Auditions), a.Backend.Name())
	}
	if err := a.endAuditions(ctx, rep, &st, true, a.Log); err != nil {
		rep.Outcome = OutcomeFailed
		return rep, err
	}
	if len(rep.Notes) == 0 {
		rep.Notes = append(rep.Notes, "the sources recorded under audition were gone already")
	}
	return rep, a.Store.SaveState(st)
}
