package chronylive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// Apply makes chronyd use p.Selected. New sources are added first (a
// winner of this run's audition is promoted instead: see promote) and must
// all answer within AnswerTimeout before any old one is deleted, so the
// number of reachable sources never drops; then chronyd must select a
// reachable source with a normal leap status within VerifyTimeout. On any
// failure every step taken is undone (see undo). The sources file is
// written last, from the selected set; a plan with nothing to add or
// remove only writes it. A sources file that cannot be written is
// daemon.ErrNotPersisted, with Applied saying what changed live: the
// change stays (it is the right one), but chronyd would lose it at a
// restart.
func (b *Backend) Apply(ctx context.Context, p daemon.Plan) (daemon.Applied, error) {
	var done daemon.Applied
	var named []chronyctl.Source // chronyd's sources with names, for by-name adds
	read := false
	for _, s := range p.Add {
		if byName(s) && !read {
			var err error
			if named, err = b.namedSources(ctx); err != nil {
				return b.undo(ctx, done, fmt.Errorf("adding %s: %w", label(s), err))
			}
			read = true
		}
		var err error
		if !byName(s) && b.auditioning(s.Address) {
			// A winner of this run's audition: chronyd has it as noselect.
			if err := b.promote(ctx, s); err != nil {
				return b.undo(ctx, done, err)
			}
			done.Added = append(done.Added, s)
			continue
		}
		if byName(s) && hasServer(named, s) {
			// chronyd does not refuse a second source of a name.
			err = chronyctl.ErrSourceExists
		} else {
			err = b.add(ctx, s)
		}
		if errors.Is(err, chronyctl.ErrSourceExists) {
			b.Log.Info().Str("addr", s.Address.String()).Str("server", s.Name).Msg("already a source of chronyd")
			continue
		}
		if err != nil {
			return b.undo(ctx, done, fmt.Errorf("adding %s: %w", label(s), err))
		}
		done.Added = append(done.Added, s)
	}
	if err := b.waitAnswered(ctx, done.Added); err != nil {
		return b.undo(ctx, done, err)
	}
	for _, d := range p.Remove {
		err := b.remove(ctx, d)
		if errors.Is(err, chronyctl.ErrNoSuchSource) {
			continue // gone already
		}
		if err != nil {
			return b.undo(ctx, done, fmt.Errorf("removing %s: %w", d.ID, err))
		}
		done.Removed = append(done.Removed, d)
	}
	if len(done.Added)+len(done.Removed) > 0 {
		if err := b.verify(ctx); err != nil {
			return b.undo(ctx, done, err)
		}
	}
	if b.File == nil {
		// No persistent sourcedir in chronyd's configuration: nothing this
		// agent can write would survive a restart, on any run.
		done.Warnings = append(done.Warnings, "the selected sources will not survive a chronyd restart: "+b.NoFile)
		return done, nil
	}
	if err := b.persist(p.Selected); err != nil {
		b.Log.Error().Err(err).Msg("sources file not written: the set is live but will not survive a chronyd restart")
		return done, fmt.Errorf("%w: %w", daemon.ErrNotPersisted, err)
	}
	return done, nil
}

// add sends ADD_SOURCE for one server, by address (by name for an NTS
// server with a hostname: see byName), with its options (see options).
func (b *Backend) add(ctx context.Context, s daemon.Server) error {
	r := chronyctl.NewAddSource(chronyctl.TypeServer, target(s))
	if s.Port != 0 {
		r.Port = uint32(s.Port)
	}
	opts := b.options(s)
	if err := r.SetOptions(opts); err != nil {
		return fmt.Errorf("source options %q: %w", opts, err)
	}
	return b.Client.AddSource(ctx, r)
}

// options are the chrony options of one server, live and in the sources
// file: SourceOptions, and `nts` for a server to use with NTS (unless
// SourceOptions says it already). chronyd checks the NTS-KE certificate
// against the name it was given, so an NTS server with a hostname is
// added and written by that name (byName); one known only by its address
// needs a certificate for the address (an IP subjectAltName).
//
// The server's own NTS options (ntsport, certset from its chrony.conf
// line) come along, unless SourceOptions sets them itself.
func (b *Backend) options(s daemon.Server) string {
	if !s.NTS {
		return b.SourceOptions
	}
	own := strings.Fields(b.SourceOptions)
	out := slices.Clone(own)
	extra := strings.Fields(s.NTSOptions)
	for i := 0; i+1 < len(extra); i += 2 {
		if !slices.Contains(own, extra[i]) {
			out = append(out, extra[i], extra[i+1])
		}
	}
	if !slices.Contains(own, "nts") {
		out = append(out, "nts")
	}
	return strings.Join(out, " ")
}

// remove sends DEL_SOURCE for one of chronyd's sources, by its ID (an IP
// address or ID#n).
func (b *Backend) remove(ctx context.Context, d daemon.Source) error {
	a, err := chronyctl.ParseAddr(d.ID)
	if err != nil {
		return err
	}
	return b.Client.DeleteSource(ctx, a)
}

// persist writes the selected set to the sources file (b.File).
func (b *Backend) persist(selected []daemon.Server) error {
	lines := make([]SourceLine, len(selected))
	for i, s := range selected {
		lines[i] = SourceLine{Address: target(s), Port: s.Port, Options: b.options(s)}
	}
	if err := b.File.Write(lines); err != nil {
		return fmt.Errorf("sources file not written: %w", err)
	}
	return nil
}
