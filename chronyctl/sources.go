package chronyctl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// Parts selects the optional replies Sources merges in; SOURCE_DATA is
// always read.
type Parts uint8

// The optional parts of a Source.
const (
	PartStats   Parts = 1 << iota // SOURCESTATS: std dev, samples, span
	PartNTPData                   // NTP_DATA: delay, root delay/dispersion, leap
	PartSelect                    // SELECT_DATA: selection state and options
	PartName                      // NTP_SOURCE_NAME: the configured name

	PartAll = PartStats | PartNTPData | PartSelect | PartName
)

// maxSources is the most sources chronyd keeps (65536; more are refused
// with STT_TOOMANYSOURCES); a larger count is a corrupt reply.
const maxSources = 65536

// sourceListTries bounds the re-reads when the source list changes while
// it is being read (indices shift when a source is removed).
const sourceListTries = 3

// errListChanged means the source list changed during a read.
var errListChanged = errors.New("chronyd's source list changed while it was being read")

// Sources returns every source chronyd has, in its order, with all parts
// merged in (see Source). The replies are pipelined.
func (c *Client) Sources(ctx context.Context) ([]Source, error) {
	return c.SourcesParts(ctx, PartAll)
}

// SourcesParts is Sources reading only SOURCE_DATA and the given parts;
// `ntp-optimizer sources` needs only SOURCE_DATA, for example. A part the
// daemon refuses (ntpdata and selectdata over UDP, or a request older
// daemons lack) is left out of Has, not reported as an error.
func (c *Client) SourcesParts(ctx context.Context, parts Parts) ([]Source, error) {
	var err error
	for range sourceListTries {
		var srcs []Source
		srcs, err = c.sourcesOnce(ctx, parts)
		if !errors.Is(err, errListChanged) {
			return srcs, err
		}
		c.log.Debug().Msg("source list changed during the read; reading again")
	}
	return nil, err
}

// sourceRead is one source during a read of the list: its SOURCE_DATA
// and each optional reply, with its own error.
type sourceRead struct {
	src             Source
	dataErr         error // SOURCE_DATA: not optional
	stats           statsReply
	statsErr        error
	sel             selectReply
	selErr          error
	ntpErr, nameErr error
}

// sourcesOnce reads the list once. Stage 1 asks by index (SOURCE_DATA,
// SOURCESTATS, SELECT_DATA) and checks that every reply is for the same
// source; stage 2 asks by address (NTP_DATA, NTP_SOURCE_NAME).
func (c *Client) sourcesOnce(ctx context.Context, parts Parts) ([]Source, error) {
	n, err := c.NumSources(ctx)
	if err != nil {
		return nil, err
	}
	if n > maxSources {
		return nil, fmt.Errorf("chronyd reports %d sources, more than it can have (%d)", n, maxSources)
	}
	reads := make([]sourceRead, n)
	parallel(c.byIndex(ctx, reads, parts))
	for i := range reads {
		if err := reads[i].mergeByIndex(parts); err != nil {
			return nil, err
		}
	}
	parallel(c.byAddress(ctx, reads, parts))
	srcs := make([]Source, n)
	for i := range reads {
		if err := firstError([]error{reads[i].ntpErr, reads[i].nameErr}); err != nil {
			return nil, err
		}
		srcs[i] = reads[i].src
	}
	return srcs, nil
}

// byIndex are stage 1's requests.
func (c *Client) byIndex(ctx context.Context, reads []sourceRead, parts Parts) []func() {
	var jobs []func()
	for i := range reads {
		r := &reads[i]
		jobs = append(jobs, func() { r.dataErr = c.sourceData(ctx, i, &r.src) })
		if parts&PartStats != 0 {
			jobs = append(jobs, func() {
				st := &r.stats
				st.stats, st.addr, st.refID, r.statsErr = c.sourceStats(ctx, i)
			})
		}
		if parts&PartSelect != 0 {
			jobs = append(jobs, func() {
				sl := &r.sel
				sl.sel, sl.ip, sl.refID, r.selErr = c.selectData(ctx, i)
			})
		}
	}
	return jobs
}

// mergeByIndex checks stage 1's replies and merges the optional ones: a
// vanished source or a reply for another one means the list changed.
func (r *sourceRead) mergeByIndex(parts Parts) error {
	if errors.Is(r.dataErr, ErrNoSuchSource) {
		r.dataErr = optional(r.dataErr)
	}
	r.statsErr, r.selErr = optional(r.statsErr), optional(r.selErr)
	if err := firstError([]error{r.dataErr, r.statsErr, r.selErr}); err != nil {
		return err
	}
	s := &r.src
	if parts&PartStats != 0 && r.statsErr == nil {
		if !r.stats.sameSource(s) {
			return errListChanged
		}
		s.Stats, s.Has.Stats = r.stats.stats, true
	}
	if parts&PartSelect != 0 && r.selErr == nil {
		if !r.sel.sameSource(s) {
			return errListChanged
		}
		s.Select, s.Has.Select = r.sel.sel, true
	}
	return nil
}

// byAddress are stage 2's requests, for NTP sources with an address (or
// an unresolved name's ID, for the name).
func (c *Client) byAddress(ctx context.Context, reads []sourceRead, parts Parts) []func() {
	var jobs []func()
	for i := range reads {
		r := &reads[i]
		s := &r.src
		if s.Mode == ModeRefclock || s.Address.IsUnspecified() {
			continue
		}
		if parts&PartNTPData != 0 && s.Address.IP.IsValid() {
			jobs = append(jobs, func() {
				d, err := c.ntpData(ctx, s.Address)
				if r.ntpErr = optional(err); r.ntpErr == nil {
					s.NTP, s.Has.NTPData = d, true
				}
			})
		}
		if parts&PartName != 0 {
			jobs = append(jobs, func() {
				name, err := c.SourceName(ctx, s.Address)
				if r.nameErr = optional(err); r.nameErr == nil {
					s.Name, s.Has.Name = name, true
				}
			})
		}
	}
	return jobs
}

// parallel runs the jobs on up to `window` goroutines, the most requests
// the transport keeps in flight anyway (a goroutine per request would cost
// a short-lived command start-up time for stacks it cannot use).
func parallel(jobs []func()) {
	next := make(chan func())
	var wg sync.WaitGroup
	for range min(window, len(jobs)) {
		wg.Go(func() {
			for job := range next {
				job()
			}
		})
	}
	for _, job := range jobs {
		next <- job
	}
	close(next)
	wg.Wait()
}

type statsReply struct {
	stats SourceStats
	addr  Addr
	refID uint32
}

type selectReply struct {
	sel   SelectData
	ip    netip.Addr
	refID uint32
}

// sameSource reports whether a SOURCESTATS reply is for source s (the
// list may have changed between the requests): a refclock by refid, an NTP
// source by address.
func (r *statsReply) sameSource(s *Source) bool {
	if s.Mode == ModeRefclock {
		return r.refID == s.RefID
	}
	return r.addr == s.Address
}

// sameSource is the same check for SELECT_DATA, whose address the library
// passes on only for IPv4 and IPv6.
func (r *selectReply) sameSource(s *Source) bool {
	if s.Mode == ModeRefclock {
		return r.refID == s.RefID
	}
	return !r.ip.IsValid() && !s.Address.IP.IsValid() || r.ip == s.Address.IP
}

// optional turns the refusal of an optional request into "absent" (nil
// error, zero result) and a vanished source into errListChanged.
func optional(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoSuchSource):
		return fmt.Errorf("%w (%w)", errListChanged, err)
	case errors.Is(err, ErrUnauthorised), errors.Is(err, ErrInvalid):
		return errAbsent
	}
	return err
}

// errAbsent marks a part chronyd refused; firstError ignores it.
var errAbsent = errors.New("part absent")

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil && !errors.Is(err, errAbsent) {
			return err
		}
	}
	return nil
}
