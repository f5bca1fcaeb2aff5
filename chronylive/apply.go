package chronylive

import (
	"context"
	"errors"
	"fmt"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// Apply makes chronyd use p.Selected. New sources are added first and must
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
	for _, s := range p.Add {
		err := b.add(ctx, s)
		if errors.Is(err, chronyctl.ErrSourceExists) {
			b.Log.Info().Str("addr", s.Address.String()).Msg("already a source of chronyd")
			continue
		}
		if err != nil {
			return b.undo(ctx, done, fmt.Errorf("adding %s: %w", s.Address, err))
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

// add sends ADD_SOURCE for one server, by address, with SourceOptions.
func (b *Backend) add(ctx context.Context, s daemon.Server) error {
	r := chronyctl.NewAddSource(chronyctl.TypeServer, s.Address.String())
	if s.Port != 0 {
		r.Port = uint32(s.Port)
	}
	if err := r.SetOptions(b.SourceOptions); err != nil {
		return fmt.Errorf("source options %q: %w", b.SourceOptions, err)
	}
	return b.Client.AddSource(ctx, r)
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
		lines[i] = SourceLine{Address: s.Address.String(), Port: s.Port, Options: b.SourceOptions}
	}
	if err := b.File.Write(lines); err != nil {
		return fmt.Errorf("sources file not written: %w", err)
	}
	return nil
}
