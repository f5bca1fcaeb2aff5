package schedule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// D-Bus errors systemd answers for a unit it has not loaded and for a unit
// file that does not exist.
const (
	errNoSuchUnit   = "org.freedesktop.systemd1.NoSuchUnit"
	errFileNotFound = "org.freedesktop.DBus.Error.FileNotFound"
)

// isDBusError reports whether err is one of the named D-Bus errors.
func isDBusError(err error, names ...string) bool {
	var de dbus.Error
	if !errors.As(err, &de) {
		return false
	}
	for _, n := range names {
		if de.Name == n {
			return true
		}
	}
	return false
}

// ErrJobFailed is returned when a start or stop job ends other than "done".
var ErrJobFailed = errors.New("systemd job failed")

// Systemd talks to systemd's manager over D-Bus. It implements Manager.
type Systemd struct {
	conn *sd.Conn
}

// Connect reaches systemd on the system bus (DBUS_SYSTEM_BUS_ADDRESS is
// honoured), or as root on systemd's private socket when the bus is down.
// The connection is closed when ctx ends; Close closes it earlier.
func Connect(ctx context.Context) (*Systemd, error) {
	c, err := sd.NewWithContext(ctx)
	if err != nil {
		hint := ""
		if _, serr := os.Stat("/run/systemd/system"); serr != nil {
			hint = " (systemd does not run on this machine)"
		}
		return nil, fmt.Errorf("cannot reach systemd over D-Bus%s: %w", hint, err)
	}
	return &Systemd{conn: c}, nil
}

// ConnectAddress reaches a systemd manager on the bus at a D-Bus address
// ("unix:path=..."), for tests and unusual set-ups. The connection lives
// until Close, whatever becomes of ctx.
func ConnectAddress(ctx context.Context, address string) (*Systemd, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := sd.NewConnection(func() (*dbus.Conn, error) {
		conn, err := dbus.Dial(address)
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			conn.Close()
			return nil, err
		}
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot reach systemd on %s: %w", address, err)
	}
	return &Systemd{conn: c}, nil
}

// Close closes the connection.
func (s *Systemd) Close() { s.conn.Close() }

// Reload makes systemd re-read unit files (systemctl daemon-reload).
func (s *Systemd) Reload(ctx context.Context) error {
	if err := s.conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("systemd reload: %w", err)
	}
	return nil
}

// EnableUnitFiles enables units persistently (symlinks in /etc).
func (s *Systemd) EnableUnitFiles(ctx context.Context, files []string) error {
	if _, _, err := s.conn.EnableUnitFilesContext(ctx, files, false, true); err != nil {
		return fmt.Errorf("systemd enable %v: %w", files, err)
	}
	return nil
}

// DisableUnitFiles removes units' enablement symlinks. A unit file that
// does not exist is already disabled: that is not an error.
func (s *Systemd) DisableUnitFiles(ctx context.Context, files []string) error {
	_, err := s.conn.DisableUnitFilesContext(ctx, files, false)
	if err != nil && !isDBusError(err, errNoSuchUnit, errFileNotFound) {
		return fmt.Errorf("systemd disable %v: %w", files, err)
	}
	return nil
}

// StartUnit starts a unit and waits for the job to finish.
func (s *Systemd) StartUnit(ctx context.Context, name string) error {
	return s.job(ctx, "start", name, s.conn.StartUnitContext)
}

// StopUnit stops a unit and waits for the job to finish. A unit systemd
// does not know is already stopped: that is not an error.
func (s *Systemd) StopUnit(ctx context.Context, name string) error {
	err := s.job(ctx, "stop", name, s.conn.StopUnitContext)
	if isDBusError(err, errNoSuchUnit) {
		return nil
	}
	return err
}

type jobFunc func(ctx context.Context, name, mode string, ch chan<- string) (int, error)

func (s *Systemd) job(ctx context.Context, verb, name string, f jobFunc) error {
	ch := make(chan string, 1)
	if _, err := f(ctx, name, "replace", ch); err != nil {
		return fmt.Errorf("systemd %s %s: %w", verb, name, err)
	}
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("%w: %s %s: %s", ErrJobFailed, verb, name, res)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("systemd %s %s: waiting for the job: %w", verb, name, ctx.Err())
	}
}

// timerProperty reads one property of a .timer unit.
func (s *Systemd) timerProperty(ctx context.Context, unit, name string) (uint64, error) {
	p, err := s.conn.GetUnitTypePropertyContext(ctx, unit, "Timer", name)
	if err != nil {
		return 0, fmt.Errorf("reading %s of %s: %w", name, unit, err)
	}
	v, ok := p.Value.Value().(uint64)
	if !ok {
		return 0, fmt.Errorf("reading %s of %s: got %s, want a uint64", name, unit, p.Value.Signature())
	}
	return v, nil
}
