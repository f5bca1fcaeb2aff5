package chronylive

import (
	"context"
	"errors"
	"fmt"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
)

// undo ends a failed Apply. When nothing was changed yet it is a plain
// failure: why is returned as is. Otherwise the steps taken are undone in
// the order the change made them — the removed sources are re-added and
// given AnswerTimeout to answer before the added ones are deleted, so the
// number of reachable sources does not drop on the way back either — and
// the run is reported rolled back with why as the reason. The error is nil
// unless the rollback itself failed: then it is a *daemon.RollbackError
// (daemon.ErrRollbackFailed) that says what could not be undone.
func (b *Backend) undo(ctx context.Context, done daemon.Applied, why error) (daemon.Applied, error) {
	if len(done.Added)+len(done.Removed) == 0 {
		return daemon.Applied{}, why
	}
	b.Log.Warn().Err(why).Int("readd", len(done.Removed)).Int("delete", len(done.Added)).Msg("rolling back")
	// A cancelled run still gets a bounded chance to undo: the wait for
	// the re-added sources and the requests.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.answerTimeout()+rollbackTimeout)
	defer cancel()
	var errs []error
	var readded []daemon.Server
	for _, d := range done.Removed {
		// A source configured with NTS comes back with `nts` (by its name
		// when it has a hostname, as chrony.conf named it).
		s := daemon.Server{Address: d.Address, Port: d.Port, Name: d.Name, NTS: d.NTS, NTSOptions: d.NTSOptions}
		err := b.add(rctx, s)
		switch {
		case err == nil:
			readded = append(readded, s)
		case !errors.Is(err, chronyctl.ErrSourceExists):
			errs = append(errs, fmt.Errorf("re-adding %s: %w", d.ID, err))
		}
	}
	if err := b.waitAnswered(rctx, readded); err != nil {
		// Not a failed rollback: they are chronyd's sources again.
		b.Log.Warn().Err(err).Msg("rolling back: the re-added sources have not all answered; deleting the new ones anyway")
	}
	for _, s := range done.Added {
		var err error
		if byName(s) {
			// By whatever address or ID# chronyd has for the name.
			err = b.deleteNamed(rctx, s.Name)
		} else {
			err = b.Client.DeleteSource(rctx, chronyctl.AddrFromIP(s.Address))
		}
		if err != nil && !errors.Is(err, chronyctl.ErrNoSuchSource) {
			errs = append(errs, fmt.Errorf("removing %s: %w", label(s), err))
		}
	}
	out := daemon.Applied{RolledBack: true, Reason: why.Error()}
	if len(errs) > 0 {
		return out, &daemon.RollbackError{Why: why, Left: errors.Join(errs...)}
	}
	return out, nil
}
