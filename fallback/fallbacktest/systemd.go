package fallbacktest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// Systemd is a fake org.freedesktop.systemd1 on a test bus: the
// Manager's RestartUnit (answering with a job path and a JobRemoved signal,
// as systemd does) and each unit's ActiveState property.
type Systemd struct {
	conn *dbus.Conn
	mu   sync.Mutex
	jobs uint32
	// states holds each known unit's ActiveState; unknown units report
	// "inactive", as systemd does for a unit file that does not exist.
	states    map[string]string
	onRestart func(unit string) error
	restarts  []string
}

// NewSystemd exports a fake systemd on the bus at address.
func NewSystemd(t testing.TB, address string) *Systemd {
	t.Helper()
	s := &Systemd{conn: Connect(t, address), states: map[string]string{}}
	if err := s.conn.ExportMethodTable(map[string]any{"RestartUnit": s.restartUnit}, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.ExportSubtree(unitProps{s}, "/org/freedesktop/systemd1/unit", "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	own(t, s.conn, "org.freedesktop.systemd1")
	return s
}

// SetState sets a unit's ActiveState.
func (s *Systemd) SetState(unit, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states[unit] = state
}

// OnRestart sets a function run for each restart (in its own goroutine);
// an error makes the job "failed" and the unit "failed".
func (s *Systemd) OnRestart(f func(unit string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRestart = f
}

// Restarts returns the units restarted so far, in order.
func (s *Systemd) Restarts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.restarts...)
}

func (s *Systemd) restartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	if mode != "replace" && mode != "fail" {
		return "", dbus.MakeFailedError(fmt.Errorf("unexpected job mode %q", mode))
	}
	s.mu.Lock()
	s.jobs++
	id := s.jobs
	s.restarts = append(s.restarts, name)
	hook := s.onRestart
	s.mu.Unlock()
	job := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", id))
	go func() {
		result, state := "done", "active"
		if hook != nil {
			if err := hook(name); err != nil {
				result, state = "failed", "failed"
			}
		}
		s.SetState(name, state)
		_ = s.conn.Emit("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager.JobRemoved", id, job, name, result)
	}()
	return job, nil
}

// unitProps answers org.freedesktop.DBus.Properties.Get on unit objects.
type unitProps struct{ s *Systemd }

func (u unitProps) Get(msg dbus.Message, iface, prop string) (dbus.Variant, *dbus.Error) {
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	unit := unescapeUnit(strings.TrimPrefix(string(path), "/org/freedesktop/systemd1/unit/"))
	if iface != "org.freedesktop.systemd1.Unit" || prop != "ActiveState" {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{prop})
	}
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	st, ok := u.s.states[unit]
	if !ok {
		st = "inactive"
	}
	return dbus.MakeVariant(st), nil
}

// unescapeUnit undoes systemd's object path escaping (_XX for a byte).
func unescapeUnit(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
