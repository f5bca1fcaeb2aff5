package chronylive

import (
	"context"
	"errors"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// authenticated says which of srcs (by index) chronyd authenticates with
// NTS, from its authdata (REQ_AUTH_DATA): that covers the sources added at
// runtime, which chrony.conf does not name. A source gone between the two
// reads (no such source) is skipped. Any other failure — a chronyd before
// 4.0 that does not know the request, one that refuses it, a dead socket —
// ends the reading there: it is logged at debug level and the sources
// keep the configuration's `nts` names alone (Backend.NTS), as before
// authdata was read.
func (b *Backend) authenticated(ctx context.Context, srcs []chronyctl.Source) map[int]bool {
	out := map[int]bool{}
	for i := range srcs {
		s := &srcs[i]
		if s.Mode == chronyctl.ModeRefclock || s.Address.IsUnspecified() {
			continue
		}
		ad, err := b.Client.AuthData(ctx, s.Address)
		switch {
		case errors.Is(err, chronyctl.ErrNoSuchSource):
			continue
		case err != nil:
			b.Log.Debug().Err(err).Str("addr", s.Address.String()).
				Msg("chronyd's authdata is not available: NTS sources are known from its configuration only")
			return out
		}
		out[i] = ad.Mode == chronyctl.AuthNTS
	}
	return out
}
