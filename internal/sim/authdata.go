package sim

import (
	"context"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// AuthData is chronyd's authdata of a source (chronylive.Client): the
// simulated chronyd authenticates none of its sources.
func (c *Chronyd) AuthData(_ context.Context, a chronyctl.Addr) (chronyctl.AuthData, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return chronyctl.AuthData{}, ErrDown
	}
	if c.find(a.IP) == nil {
		return chronyctl.AuthData{}, chronyctl.ErrNoSuchSource
	}
	return chronyctl.AuthData{Mode: chronyctl.AuthNone, LastKEAgo: chronyctl.NoKeyExchange}, nil
}
