package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// ChronyClient is what the chrony backend needs from chronyd's command
// socket (satisfied by *chronyctl.Client).
type ChronyClient interface {
	Sources(ctx context.Context) ([]chronyctl.Source, error)
	SourcesParts(ctx context.Context, parts chronyctl.Parts) ([]chronyctl.Source, error)
	Tracking(ctx context.Context) (chronyctl.Tracking, error)
	AddSource(ctx context.Context, r chronyctl.AddSourceRequest) error
	DeleteSource(ctx context.Context, a chronyctl.Addr) error
}

// Defaults of the chrony backend.
const (
	// DefaultAnswerTimeout is how long new sources get to answer before
	// old ones are removed (issue: "bounded, default ≤ 20 s"; with iburst
	// chronyd polls a new source at once and then every 2 s).
	DefaultAnswerTimeout = 20 * time.Second
	// DefaultVerifyTimeout is how long chronyd gets to select a source
	// after a change.
	DefaultVerifyTimeout = 60 * time.Second
	// DefaultMinChronySamples is how many samples chronyd must hold of a
	// source before its statistics replace a direct probe: chronyd's own
	// minimum for a regression is 3, and 4 matches the prober's samples.
	DefaultMinChronySamples = 4
	// chronyPoll is how often chronyd is asked while waiting.
	chronyPoll = 250 * time.Millisecond
)

// Chrony is the live chronyd backend: sources are added and removed over
// the command socket, new ones before old ones leave, and the set is also
// written to a sources file so a restart of chronyd comes back with it.
type Chrony struct {
	Client ChronyClient
	// File is the agent's *.sources file; nil when chronyd's
	// configuration has no persistent sourcedir (a warning says so).
	File *SourcesFile
	// NoFile says why File is nil, for the warning.
	NoFile        string
	SourceOptions string
	AnswerTimeout time.Duration
	VerifyTimeout time.Duration
	MinSamples    int
	Log           zerolog.Logger
	// Clock times the waits; nil is the system clock.
	Clock clock.Clock
}

// Name implements Backend.
func (c *Chrony) Name() string { return "chrony" }

// Sources implements Backend: chronyd's sources with its own statistics
// for those it has sampled enough.
func (c *Chrony) Sources(ctx context.Context) ([]DaemonSource, error) {
	srcs, err := c.Client.Sources(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading chronyd's sources: %w", err)
	}
	out := make([]DaemonSource, 0, len(srcs))
	for i := range srcs {
		s := &srcs[i]
		d := DaemonSource{Address: s.Address.IP, Name: s.Name, ID: s.Address.String(),
			Refclock: s.Mode == chronyctl.ModeRefclock, Port: int(s.NTP.RemotePort)}
		if d.Refclock {
			d.Address = netip.Addr{}
		}
		if !d.Refclock && d.Address.IsValid() && s.Has.Stats && s.Has.NTPData &&
			int(s.Stats.Samples) >= c.minSamples() {
			m := chronyMeasurement(s)
			d.Measurement = &m
		}
		out = append(out, d)
	}
	return out, nil
}

func (c *Chrony) minSamples() int {
	if c.MinSamples > 0 {
		return c.MinSamples
	}
	return DefaultMinChronySamples
}

// chronyStates maps chronyd's selection states onto scoring's.
var chronyStates = map[chronyctl.State]scoring.SourceState{
	chronyctl.StateSelected:    scoring.StateSelected,
	chronyctl.StateUnusable:    scoring.StateNonselectable,
	chronyctl.StateFalseticker: scoring.StateFalseticker,
	chronyctl.StateJittery:     scoring.StateJittery,
	chronyctl.StateCombined:    scoring.StateUnselected,
	chronyctl.StateNotCombined: scoring.StateSelectable,
}

// chronyMeasurement is chronyd's view of a source as scoring input:
// jitter is sourcestats' standard deviation, the offset its estimate,
// delay and root values the last exchange (ntpdata), and reachability the
// reach register over the polls chronyd has made.
func chronyMeasurement(s *chronyctl.Source) scoring.Measurement {
	sent, ok := scoring.ReachRegister(s.Reach, int(min(s.NTP.TotalTx, 8)))
	name := s.Name
	if name == "" {
		name = s.Address.String()
	}
	return scoring.Measurement{
		Origin:         scoring.OriginChronyd,
		Address:        s.Address.IP,
		Port:           int(s.NTP.RemotePort),
		Name:           name,
		Offset:         s.Stats.EstOffset,
		Delay:          s.NTP.Delay,
		Jitter:         s.Stats.StdDev,
		RootDelay:      s.NTP.RootDelay,
		RootDispersion: s.NTP.RootDispersion,
		Stratum:        int(s.NTP.Stratum),
		Leap:           int(s.NTP.Leap),
		RefIDRaw:       s.NTP.RefID,
		RefID:          refidString(s.NTP.RefID, int(s.NTP.Stratum)),
		SamplesSent:    sent,
		SamplesOK:      ok,
		ChronydState:   chronyStates[s.State],
	}
}

// Preview implements Backend: a live change has no file diff to show.
func (c *Chrony) Preview(Plan) (string, error) { return "", nil }

// Apply implements Backend. New sources are added (with the configured
// options, iburst by default) and must all answer within AnswerTimeout
// before any old one is removed, so the number of reachable sources never
// drops; then chronyd must select a reachable source with a normal leap
// status within VerifyTimeout. On any failure everything is undone. The
// sources file is written last, from the selected set.
func (c *Chrony) Apply(ctx context.Context, p Plan) (Applied, error) {
	var res Applied
	for _, s := range p.Add {
		err := c.add(ctx, s)
		if errors.Is(err, chronyctl.ErrSourceExists) {
			c.Log.Info().Str("addr", s.Address.String()).Msg("already a source of chronyd")
			continue
		}
		if err != nil {
			return c.rollback(ctx, res, fmt.Sprintf("adding %s failed: %v", s.Address, err), err)
		}
		res.Added = append(res.Added, s)
	}
	if silent, err := c.waitAnswered(ctx, res.Added); err != nil || len(silent) > 0 {
		why := fmt.Sprintf("new sources did not answer within %v: %s", c.answerTimeout(), strings.Join(silent, ", "))
		if err != nil {
			why = fmt.Sprintf("waiting for new sources to answer: %v", err)
		}
		return c.rollback(ctx, res, why, err)
	}
	for _, d := range p.Remove {
		a, err := chronyctl.ParseAddr(d.ID)
		if err == nil {
			err = c.Client.DeleteSource(ctx, a)
		}
		if errors.Is(err, chronyctl.ErrNoSuchSource) {
			continue // gone already
		}
		if err != nil {
			return c.rollback(ctx, res, fmt.Sprintf("removing %s failed: %v", d.ID, err), err)
		}
		res.Removed = append(res.Removed, d)
	}
	if len(res.Added)+len(res.Removed) > 0 {
		if err := c.verify(ctx); err != nil {
			return c.rollback(ctx, res, err.Error(), nil)
		}
	}
	if w := c.persist(p.Selected); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	return res, nil
}

// add sends ADD_SOURCE for one server, by address.
func (c *Chrony) add(ctx context.Context, s Server) error {
	r := chronyctl.NewAddSource(chronyctl.TypeServer, s.Address.String())
	if s.Port != 0 {
		r.Port = uint32(s.Port)
	}
	if err := applySourceOptions(&r, c.SourceOptions); err != nil {
		return err
	}
	return c.Client.AddSource(ctx, r)
}

func (c *Chrony) answerTimeout() time.Duration {
	if c.AnswerTimeout > 0 {
		return c.AnswerTimeout
	}
	return DefaultAnswerTimeout
}

func (c *Chrony) verifyTimeout() time.Duration {
	if c.VerifyTimeout > 0 {
		return c.VerifyTimeout
	}
	return DefaultVerifyTimeout
}

// waitAnswered polls chronyd until every added source has answered at
// least once (a non-zero reach register) and returns the ones that did not.
func (c *Chrony) waitAnswered(ctx context.Context, added []Server) ([]string, error) {
	if len(added) == 0 {
		return nil, nil
	}
	clk := clock.Or(c.Clock)
	deadline := clk.Now().Add(c.answerTimeout())
	for {
		srcs, err := c.Client.SourcesParts(ctx, 0)
		if err != nil {
			return nil, err
		}
		reach := map[string]uint8{}
		for _, s := range srcs {
			reach[s.Address.String()] = s.Reach
		}
		var silent []string
		for _, s := range added {
			if reach[s.Address.String()] == 0 {
				silent = append(silent, s.Address.String())
			}
		}
		if len(silent) == 0 || clk.Now().After(deadline) {
			return silent, nil
		}
		if err := clock.Sleep(ctx, clk, chronyPoll); err != nil {
			return silent, err
		}
	}
}

// verify waits until chronyd has selected a reachable source and its
// leap status is normal.
func (c *Chrony) verify(ctx context.Context) error {
	clk := clock.Or(c.Clock)
	deadline := clk.Now().Add(c.verifyTimeout())
	why := ""
	for {
		tr, err := c.Client.Tracking(ctx)
		if err == nil {
			var srcs []chronyctl.Source
			srcs, err = c.Client.SourcesParts(ctx, 0)
			selected := false
			for _, s := range srcs {
				selected = selected || s.State == chronyctl.StateSelected && s.Reach != 0
			}
			switch {
			case err != nil:
			case !selected:
				why = "chronyd has not selected a reachable source"
			case tr.Leap != chronyctl.LeapNormal:
				why = "chronyd's leap status is " + tr.Leap.String()
			default:
				return nil
			}
		}
		if err != nil {
			why = err.Error()
		}
		if clk.Now().After(deadline) {
			return fmt.Errorf("verification failed after %v: %s", c.verifyTimeout(), why)
		}
		if err := clock.Sleep(ctx, clk, chronyPoll); err != nil {
			return fmt.Errorf("verification interrupted: %w (%s)", err, why)
		}
	}
}

// rollback undoes res: re-adds what was removed, removes what was added.
// It reports the run as rolled back with why; cause (if any) is the error
// that started it, returned so the caller sees e.g. that chronyd stopped
// answering.
func (c *Chrony) rollback(ctx context.Context, res Applied, why string, cause error) (Applied, error) {
	if len(res.Added)+len(res.Removed) == 0 {
		// Nothing was changed: a plain failure, not a rollback.
		if cause == nil {
			cause = errors.New("no change was made")
		}
		return Applied{}, fmt.Errorf("%s: %w", why, cause)
	}
	c.Log.Warn().Str("reason", why).Int("readd", len(res.Removed)).Int("delete", len(res.Added)).Msg("rolling back")
	// A cancelled run still gets a short, bounded chance to undo.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var errs []error
	for _, d := range res.Removed {
		s := Server{Address: d.Address, Port: d.Port, Name: d.Name}
		if err := c.add(rctx, s); err != nil && !errors.Is(err, chronyctl.ErrSourceExists) {
			errs = append(errs, fmt.Errorf("re-adding %s: %w", d.ID, err))
		}
	}
	for _, s := range res.Added {
		err := c.Client.DeleteSource(rctx, chronyctl.AddrFromIP(s.Address))
		if err != nil && !errors.Is(err, chronyctl.ErrNoSuchSource) {
			errs = append(errs, fmt.Errorf("removing %s: %w", s.Address, err))
		}
	}
	out := Applied{RolledBack: true, Reason: why}
	if len(errs) > 0 {
		err := fmt.Errorf("%w: %s; and the rollback failed: %w", ErrRolledBack, why, errors.Join(errs...))
		if cause != nil {
			err = fmt.Errorf("%w (%v)", err, cause)
		}
		return out, err
	}
	return out, nil
}

// persist writes the selected set to the sources file; it returns a
// warning when it cannot.
func (c *Chrony) persist(selected []Server) string {
	if c.File == nil {
		return "the selected sources will not survive a chronyd restart: " + c.NoFile
	}
	lines := make([]SourceLine, len(selected))
	for i, s := range selected {
		lines[i] = SourceLine{Address: s.Address.String(), Port: s.Port, Options: c.SourceOptions}
	}
	if err := c.File.Write(lines); err != nil {
		return "sources file not written (the change is live but will not survive a chronyd restart): " + err.Error()
	}
	return ""
}

// refidString shows a reference ID as NTP tools do: four ASCII characters
// for stratum 0 and 1 ("GPS", "PPS"), else the upstream's IPv4 address
// (RFC 5905 section 7.3).
func refidString(id uint32, stratum int) string {
	if stratum <= 1 {
		var b []byte
		for _, c := range []byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)} {
			if c >= 0x20 && c < 0x7f {
				b = append(b, c)
			}
		}
		return string(b)
	}
	return netip.AddrFrom4([4]byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}).String()
}
