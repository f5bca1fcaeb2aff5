package chronylive

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/daemon"
	"github.com/ntp-optimizer/ntp-optimizer/internal/srvname"
)

// An NTS server is added to chronyd by its name: chronyd's NTS-KE client
// verifies the server's certificate against the name it was given (and
// sends it as the TLS server name), and a public NTS server's certificate
// names its hostname, not its addresses, so one added by address fails
// the key exchange. chronyd resolves such a name in the background (the
// source is ID#n until then) and may pick another of its addresses than
// the one probed, so these sources are found by name (case-insensitively)
// in chronyd's list, not by Server.Address. Plain servers and NTS servers
// known only by an IP literal are added by address.

// byName says s is added, waited for, persisted and deleted by its name:
// an NTS server whose Name is a valid hostname.
func byName(s daemon.Server) bool {
	if !s.NTS || s.Name == "" {
		return false
	}
	if _, err := netip.ParseAddr(s.Name); err == nil {
		return false
	}
	return srvname.Validate(s.Name) == nil
}

// target is what chronyd is given for s (ADD_SOURCE, the sources file):
// its name for a by-name server, else its address.
func target(s daemon.Server) string {
	if byName(s) {
		return s.Name
	}
	return s.Address.String()
}

// label names s in messages: its address, or for a by-name server its
// name and the address it was probed at.
func label(s daemon.Server) string {
	if byName(s) {
		return fmt.Sprintf("%s (%s)", s.Name, s.Address)
	}
	return s.Address.String()
}

// namedSources reads chronyd's sources with their names (NTP_SOURCE_NAME).
func (b *Backend) namedSources(ctx context.Context) ([]chronyctl.Source, error) {
	return b.Client.SourcesParts(ctx, chronyctl.PartName)
}

// hasServer says chronyd already has by-name server s among srcs: a
// source of that name, or one at the address it was probed at (chronyd
// would drop the new source once the name resolves there).
func hasServer(srcs []chronyctl.Source, s daemon.Server) bool {
	for _, src := range srcs {
		if s.Address.IsValid() && src.Address.IP == s.Address || sameName(src.Name, s.Name) {
			return true
		}
	}
	return false
}

// sameName compares a source's name with a server's: hostnames without
// case or a final dot.
func sameName(a, b string) bool { return a != "" && canonicalName(a) == canonicalName(b) }

// deleteNamedTries bounds the re-reads when a source resolves between the
// listing and its delete (its ID# is gone then).
const deleteNamedTries = 3

// deleteNamed deletes every source chronyd has under name, by the address
// or ID# it has for it now. None is no error (chronyd dropped it).
func (b *Backend) deleteNamed(ctx context.Context, name string) error {
	for range deleteNamedTries {
		srcs, err := b.namedSources(ctx)
		if err != nil {
			return err
		}
		resolved := false
		for _, src := range srcs {
			if !sameName(src.Name, name) || src.Address.IsUnspecified() {
				continue
			}
			err := b.Client.DeleteSource(ctx, src.Address)
			switch {
			case errors.Is(err, chronyctl.ErrNoSuchSource) && src.Address.IsID():
				resolved = true // it has an address now: read again
			case err != nil && !errors.Is(err, chronyctl.ErrNoSuchSource):
				return fmt.Errorf("%s: %w", src.Address, err)
			}
		}
		if !resolved {
			return nil
		}
	}
	return fmt.Errorf("chronyd kept resolving its sources named %s while they were deleted (%d tries)", name, deleteNamedTries)
}
