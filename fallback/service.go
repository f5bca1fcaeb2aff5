package fallback

import (
	"context"
	"errors"
	"fmt"
	"os"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// ErrNoSystemd is returned when a service must be restarted but systemd is
// not running (or its D-Bus API cannot be reached).
var ErrNoSystemd = errors.New("systemd is not running: cannot restart the NTP service")

// ServiceManager is what the backends need from the init system.
type ServiceManager interface {
	// Restart restarts unit and returns once the restart job finished; an
	// error if it failed or the unit is not active afterwards.
	Restart(ctx context.Context, unit string) error
	// ActiveState returns the unit's ActiveState ("active", "inactive",
	// "failed", "activating" ...); "inactive" for a unit systemd does not
	// know.
	ActiveState(ctx context.Context, unit string) (string, error)
}

// Systemd is the ServiceManager over systemd's D-Bus API
// (org.freedesktop.systemd1, with github.com/coreos/go-systemd/v22/dbus).
type Systemd struct {
	conn *sddbus.Conn
}

// SystemdRunning reports whether systemd is the running init system, as
// sd_booted(3) does: /run/systemd/system exists (under root).
func SystemdRunning(root string) bool {
	fi, err := os.Stat(hostPath(root, "/run/systemd/system"))
	return err == nil && fi.IsDir()
}

// NewSystemd connects to systemd on the system bus. Without systemd it
// returns ErrNoSystemd.
func NewSystemd(ctx context.Context) (*Systemd, error) {
	if !SystemdRunning("") {
		return nil, ErrNoSystemd
	}
	c, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSystemd, err)
	}
	return &Systemd{conn: c}, nil
}

// NewSystemdAt connects to a systemd (or a fake speaking its protocol) on
// the bus at address, e.g. "unix:path=/tmp/x/bus".
func NewSystemdAt(address string) (*Systemd, error) {
	c, err := sddbus.NewConnection(func() (*godbus.Conn, error) { return dialBus(address) })
	if err != nil {
		return nil, fmt.Errorf("connect to systemd at %s: %w", address, err)
	}
	return &Systemd{conn: c}, nil
}

// dialBus opens an authenticated connection (EXTERNAL, after Hello) to the
// bus at address.
func dialBus(address string) (*godbus.Conn, error) {
	c, err := godbus.Dial(address)
	if err != nil {
		return nil, err
	}
	if err := c.Auth([]godbus.Auth{godbus.AuthExternal(fmt.Sprint(os.Getuid()))}); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Hello(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the D-Bus connections.
func (s *Systemd) Close() { s.conn.Close() }

// Restart restarts unit ("replace" mode) and waits for the job's result.
func (s *Systemd) Restart(ctx context.Context, unit string) error {
	ch := make(chan string, 1)
	if _, err := s.conn.RestartUnitContext(ctx, unit, "replace", ch); err != nil {
		return fmt.Errorf("restart %s: %w", unit, err)
	}
	select {
	case r := <-ch:
		if r != "done" {
			return fmt.Errorf("restart %s: job %s (see journalctl -u %s)", unit, r, unit)
		}
	case <-ctx.Done():
		return fmt.Errorf("restart %s: %w", unit, ctx.Err())
	}
	st, err := s.ActiveState(ctx, unit)
	if err != nil {
		return err
	}
	if st != "active" {
		return fmt.Errorf("restart %s: unit is %s afterwards (see journalctl -u %s)", unit, st, unit)
	}
	return nil
}

// ActiveState reads the unit's ActiveState property.
func (s *Systemd) ActiveState(ctx context.Context, unit string) (string, error) {
	p, err := s.conn.GetUnitPropertyContext(ctx, unit, "ActiveState")
	if err != nil {
		if isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit") {
			return "inactive", nil
		}
		return "", fmt.Errorf("state of %s: %w", unit, err)
	}
	st, ok := p.Value.Value().(string)
	if !ok {
		return "", fmt.Errorf("state of %s: ActiveState is %s, not a string", unit, p.Value.Signature())
	}
	return st, nil
}
