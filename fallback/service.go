package fallback

import (
	"context"
	"errors"
)

// ErrNoSystemd is returned when a service must be restarted but systemd is
// not running (or its D-Bus API cannot be reached).
var ErrNoSystemd = errors.New("systemd is not running: cannot restart the NTP service")

// ServiceManager is what the backends need from the init system
// (*systemd.Conn of internal/systemd).
type ServiceManager interface {
	// Restart restarts unit and returns once the restart job finished; an
	// error if it failed or the unit is not active afterwards.
	Restart(ctx context.Context, unit string) error
	// ActiveState returns the unit's ActiveState ("active", "inactive",
	// "failed", "activating" ...); "inactive" for a unit systemd does not
	// know.
	ActiveState(ctx context.Context, unit string) (string, error)
}
