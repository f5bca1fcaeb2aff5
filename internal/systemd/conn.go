package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/godbus/dbus/v5"
)

// systemd's bus name, manager object and interfaces (org.freedesktop.systemd1(5)).
const (
	busName     = "org.freedesktop.systemd1"
	managerPath = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIfc  = "org.freedesktop.systemd1.Manager"
	// UnitInterface holds a unit's common properties (ActiveState ...).
	UnitInterface = "org.freedesktop.systemd1.Unit"
	// TimerInterface holds a .timer unit's properties.
	TimerInterface = "org.freedesktop.systemd1.Timer"
	// privateSocket is systemd's own D-Bus socket, for root when the bus
	// daemon is down.
	privateSocket = "unix:path=/run/systemd/private"
)

// D-Bus errors systemd answers for a unit it has not loaded and for a unit
// file that does not exist.
const (
	ErrNameNoSuchUnit   = "org.freedesktop.systemd1.NoSuchUnit"
	ErrNameFileNotFound = "org.freedesktop.DBus.Error.FileNotFound"
)

// ErrJobFailed is returned when a job ends other than "done".
var ErrJobFailed = errors.New("systemd job failed")

// Running reports whether systemd is the running init system, as
// sd_booted(3) does: /run/systemd/system exists (under root, "" for /).
func Running(root string) bool {
	fi, err := os.Stat(filepath.Join("/", root, "run/systemd/system"))
	return err == nil && fi.IsDir()
}

// Conn is a connection to systemd's manager. It is safe for concurrent use.
type Conn struct {
	conn *dbus.Conn
	obj  dbus.BusObject

	mu   sync.Mutex // guards jobs; held while a job is queued (see job)
	jobs map[dbus.ObjectPath]chan string
}

// Connect reaches systemd on the system bus (DBUS_SYSTEM_BUS_ADDRESS is
// honoured), or as root on systemd's private socket when the bus is down.
func Connect(ctx context.Context) (*Conn, error) {
	// godbus finds the system bus (DBUS_SYSTEM_BUS_ADDRESS, else its
	// default socket).
	c, err := dial(ctx, func() (*dbus.Conn, error) { return dbus.SystemBusPrivate() }, true)
	bus := err == nil
	if err != nil && os.Geteuid() == 0 {
		c, err = dial(ctx, func() (*dbus.Conn, error) { return dbus.Dial(privateSocket) }, false)
	}
	if err != nil {
		hint := ""
		if !Running("") {
			hint = " (systemd does not run on this machine)"
		}
		return nil, fmt.Errorf("cannot reach systemd over D-Bus%s: %w", hint, err)
	}
	return newConn(c, bus)
}

// ConnectAddress reaches a systemd manager (or a fake) on the bus at a
// D-Bus address ("unix:path=..."), for tests and unusual set-ups.
func ConnectAddress(ctx context.Context, address string) (*Conn, error) {
	c, err := Dial(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("cannot reach systemd on %s: %w", address, err)
	}
	return newConn(c, true)
}

// Dial opens a private, authenticated connection (EXTERNAL with the uid,
// then Hello) to the bus at address.
func Dial(ctx context.Context, address string) (*dbus.Conn, error) {
	return dial(ctx, func() (*dbus.Conn, error) { return dbus.Dial(address) }, true)
}

// dial authenticates with EXTERNAL and the numeric uid (no user name
// lookup); hello is false on systemd's private socket, which has no bus.
// ctx bounds the set-up only: the connection lives until it is closed.
func dial(ctx context.Context, open func() (*dbus.Conn, error), hello bool) (*dbus.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := open()
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err = c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))})
	if err == nil && hello {
		err = c.Hello()
	}
	if !stop() {
		return nil, fmt.Errorf("connecting to D-Bus: %w", ctx.Err())
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// newConn subscribes to the manager's JobRemoved signals, which say how
// each job ended: on a bus, a match rule routes them to this connection
// (systemd's private socket sends them directly); Subscribe makes systemd
// send them at all (systemctl does the same).
func newConn(c *dbus.Conn, bus bool) (*Conn, error) {
	s := &Conn{conn: c, obj: c.Object(busName, managerPath), jobs: map[dbus.ObjectPath]chan string{}}
	if bus {
		if err := c.AddMatchSignal(dbus.WithMatchInterface(managerIfc), dbus.WithMatchMember("JobRemoved")); err != nil {
			c.Close()
			return nil, fmt.Errorf("subscribing to systemd's job signals: %w", err)
		}
	}
	if err := s.obj.Call(managerIfc+".Subscribe", 0).Err; err != nil &&
		!IsError(err, "org.freedesktop.systemd1.AlreadySubscribed") {
		c.Close()
		return nil, fmt.Errorf("subscribing to systemd's job signals: %w", err)
	}
	signals := make(chan *dbus.Signal, 16)
	c.Signal(signals)
	go s.dispatch(signals)
	return s, nil
}

// dispatch hands each JobRemoved result to the job waiting for it.
func (s *Conn) dispatch(signals <-chan *dbus.Signal) {
	for sig := range signals {
		if sig.Name != managerIfc+".JobRemoved" {
			continue
		}
		var (
			id           uint32
			job          dbus.ObjectPath
			unit, result string
		)
		if dbus.Store(sig.Body, &id, &job, &unit, &result) != nil {
			continue
		}
		s.mu.Lock()
		if ch, ok := s.jobs[job]; ok {
			ch <- result
			delete(s.jobs, job)
		}
		s.mu.Unlock()
	}
}

// Close closes the connection.
func (s *Conn) Close() { s.conn.Close() }

// Reload makes systemd re-read unit files (systemctl daemon-reload).
func (s *Conn) Reload(ctx context.Context) error {
	if err := s.obj.CallWithContext(ctx, managerIfc+".Reload", 0).Err; err != nil {
		return fmt.Errorf("systemd reload: %w", err)
	}
	return nil
}

// EnableUnitFiles enables units persistently (the [Install] symlinks in
// /etc), replacing symlinks that point elsewhere.
func (s *Conn) EnableUnitFiles(ctx context.Context, files []string) error {
	var carries bool
	var changes [][]any
	err := s.obj.CallWithContext(ctx, managerIfc+".EnableUnitFiles", 0, files, false, true).Store(&carries, &changes)
	if err != nil {
		return fmt.Errorf("systemd enable %v: %w", files, err)
	}
	return nil
}

// DisableUnitFiles removes units' enablement symlinks. A unit file that
// does not exist is already disabled: that is not an error.
func (s *Conn) DisableUnitFiles(ctx context.Context, files []string) error {
	var changes [][]any
	err := s.obj.CallWithContext(ctx, managerIfc+".DisableUnitFiles", 0, files, false).Store(&changes)
	if err != nil && !IsError(err, ErrNameNoSuchUnit, ErrNameFileNotFound) {
		return fmt.Errorf("systemd disable %v: %w", files, err)
	}
	return nil
}

// Start starts a unit and waits for the job to finish.
func (s *Conn) Start(ctx context.Context, unit string) error {
	return s.job(ctx, "start", "StartUnit", unit)
}

// Stop stops a unit and waits for the job to finish. A unit systemd does
// not know is already stopped: that is not an error.
func (s *Conn) Stop(ctx context.Context, unit string) error {
	err := s.job(ctx, "stop", "StopUnit", unit)
	if IsError(err, ErrNameNoSuchUnit) {
		return nil
	}
	return err
}

// Restart restarts a unit, waits for the job and checks that the unit is
// active afterwards.
func (s *Conn) Restart(ctx context.Context, unit string) error {
	if err := s.job(ctx, "restart", "RestartUnit", unit); err != nil {
		return err
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

// job queues verb on unit ("replace" mode) and waits for JobRemoved. The
// lock is held from the call until the job is registered, so a signal that
// overtakes the reply waits for it.
func (s *Conn) job(ctx context.Context, verb, method, unit string) error {
	s.mu.Lock()
	var job dbus.ObjectPath
	err := s.obj.CallWithContext(ctx, managerIfc+"."+method, 0, unit, "replace").Store(&job)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("systemd %s %s: %w", verb, unit, err)
	}
	done := make(chan string, 1)
	s.jobs[job] = done
	s.mu.Unlock()
	select {
	case r := <-done:
		if r != "done" {
			return fmt.Errorf("%w: %s %s: %s (see journalctl -u %s)", ErrJobFailed, verb, unit, r, unit)
		}
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.jobs, job)
		s.mu.Unlock()
		return fmt.Errorf("systemd %s %s: waiting for job %s: %w", verb, unit, path.Base(string(job)), ctx.Err())
	}
}

// ActiveState reads the unit's ActiveState ("active", "inactive",
// "failed", "activating" ...); "inactive" for a unit systemd does not know.
func (s *Conn) ActiveState(ctx context.Context, unit string) (string, error) {
	v, err := s.UnitProperty(ctx, unit, UnitInterface, "ActiveState")
	if IsError(err, ErrNameNoSuchUnit) {
		return "inactive", nil
	}
	if err != nil {
		return "", err
	}
	st, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("state of %s: ActiveState is %s, not a string", unit, v.Signature())
	}
	return st, nil
}

// UnitProperty reads one property of a unit's interface.
func (s *Conn) UnitProperty(ctx context.Context, unit, iface, name string) (dbus.Variant, error) {
	var v dbus.Variant
	err := s.conn.Object(busName, UnitPath(unit)).
		CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, iface, name).Store(&v)
	if err != nil {
		return dbus.Variant{}, fmt.Errorf("reading %s of %s: %w", name, unit, err)
	}
	return v, nil
}

// Uint64Property reads one uint64 property (a timer's usec_t values).
func (s *Conn) Uint64Property(ctx context.Context, unit, iface, name string) (uint64, error) {
	v, err := s.UnitProperty(ctx, unit, iface, name)
	if err != nil {
		return 0, err
	}
	n, ok := v.Value().(uint64)
	if !ok {
		return 0, fmt.Errorf("reading %s of %s: got %s, want a uint64", name, unit, v.Signature())
	}
	return n, nil
}

// UnitPath is systemd's object path for a unit (sd_bus_path_encode: every
// byte but ASCII letters and, past the first, digits as _xx).
func UnitPath(unit string) dbus.ObjectPath {
	b := []byte("/org/freedesktop/systemd1/unit/")
	for i := 0; i < len(unit); i++ {
		c := unit[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0 {
			b = append(b, c)
		} else {
			b = fmt.Appendf(b, "_%02x", c)
		}
	}
	return dbus.ObjectPath(b)
}

// IsError reports whether err is one of the named D-Bus errors.
func IsError(err error, names ...string) bool {
	var name string
	var de dbus.Error
	var dp *dbus.Error
	switch {
	case errors.As(err, &de):
		name = de.Name
	case errors.As(err, &dp):
		name = dp.Name
	default:
		return false
	}
	for _, n := range names {
		if name == n {
			return true
		}
	}
	return false
}
