package systemdtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/ntp-optimizer/ntp-optimizer/internal/systemd"
)

const (
	busName     = "org.freedesktop.systemd1"
	managerPath = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIfc  = "org.freedesktop.systemd1.Manager"
	unitPrefix  = "/org/freedesktop/systemd1/unit"
)

// Call is one recorded manager call: the ones that change something
// (Subscribe is not recorded).
type Call struct {
	Method string
	Args   []string
}

func (c Call) String() string { return c.Method + "(" + strings.Join(c.Args, ",") + ")" }

// timerProps are a .timer unit's properties the fake serves (usec_t).
type timerProps struct{ last, nextRealtime, nextMonotonic uint64 }

// Fake is a fake systemd manager on a test bus.
type Fake struct {
	// UnitDir is the directory the fake loads units from and creates
	// enablement symlinks in.
	UnitDir string

	conn *dbus.Conn

	mu        sync.Mutex
	calls     []Call
	loaded    map[string]bool   // unit files found by the last Reload
	states    map[string]string // ActiveState of units that have one
	timers    map[string]*timerProps
	jobResult string
	onRestart func(unit string) error
	nextJob   uint32
}

// StartFake connects to the bus at address, takes the name
// org.freedesktop.systemd1 and serves the manager from unitDir. timers are
// the .timer units whose properties it exports (all zero at first).
func StartFake(t testing.TB, address, unitDir string, timers ...string) *Fake {
	t.Helper()
	f := &Fake{UnitDir: unitDir, conn: Connect(t, address), loaded: map[string]bool{},
		states: map[string]string{}, timers: map[string]*timerProps{}, jobResult: "done"}
	for _, name := range timers {
		f.timers[name] = &timerProps{}
	}
	if err := f.conn.Export(&manager{f}, managerPath, managerIfc); err != nil {
		t.Fatal(err)
	}
	if err := f.conn.ExportSubtree(unitProps{f}, unitPrefix, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	Own(t, f.conn, busName)
	return f
}

// SetState makes a unit known with the given ActiveState, as if systemd
// had loaded it ("active", "failed" ...).
func (f *Fake) SetState(unit, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[unit] = state
}

// SetTimer sets a timer's properties (systemd's usec_t values).
func (f *Fake) SetTimer(name string, lastTrigger, nextRealtime, nextMonotonic uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timers[name] = &timerProps{lastTrigger, nextRealtime, nextMonotonic}
}

// SetJobResult sets the result the next jobs end with ("done", "failed").
func (f *Fake) SetJobResult(r string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobResult = r
}

// OnRestart sets a function run for each restart job (in its own
// goroutine); an error ends the job "failed" and leaves the unit "failed".
func (f *Fake) OnRestart(hook func(unit string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onRestart = hook
}

// Calls returns the calls received so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Restarts returns the units restarted so far, in order.
func (f *Fake) Restarts() []string {
	var out []string
	for _, c := range f.Calls() {
		if c.Method == "RestartUnit" {
			out = append(out, c.Args[0])
		}
	}
	return out
}

// Active reports whether a unit is active (started and not stopped since).
func (f *Fake) Active(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[name] == "active"
}

// Loaded reports whether the last Reload found the unit.
func (f *Fake) Loaded(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loaded[name]
}

// known reports whether systemd would know the unit: loaded from the unit
// directory, or given a state. Call with mu held.
func (f *Fake) known(name string) bool {
	_, ok := f.states[name]
	return ok || f.loaded[name]
}

// emitJobRemoved ends a job, after the method reply as systemd does.
func (f *Fake) emitJobRemoved(id uint32, job dbus.ObjectPath, unit, result string) {
	time.Sleep(10 * time.Millisecond)
	_ = f.conn.Emit(managerPath, managerIfc+".JobRemoved", id, job, unit, result)
}

// unitFile resolves an EnableUnitFiles argument: a name in UnitDir or an
// absolute path.
func (f *Fake) unitFile(arg string) string {
	if filepath.IsAbs(arg) {
		return arg
	}
	return filepath.Join(f.UnitDir, arg)
}

// unitProps answers org.freedesktop.DBus.Properties.Get on unit objects:
// ActiveState for every unit ("inactive" for one systemd does not know,
// as for a unit file that does not exist), the timer properties for the
// timers it serves.
type unitProps struct{ f *Fake }

func (u unitProps) Get(msg dbus.Message, iface, prop string) (dbus.Variant, *dbus.Error) {
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	unit := unitName(path)
	f := u.f
	f.mu.Lock()
	defer f.mu.Unlock()
	switch iface {
	case systemd.UnitInterface:
		if prop == "ActiveState" {
			st, ok := f.states[unit]
			if !ok {
				st = "inactive"
			}
			return dbus.MakeVariant(st), nil
		}
	case systemd.TimerInterface:
		if tp, ok := f.timers[unit]; ok {
			switch prop {
			case "LastTriggerUSec":
				return dbus.MakeVariant(tp.last), nil
			case "NextElapseUSecRealtime":
				return dbus.MakeVariant(tp.nextRealtime), nil
			case "NextElapseUSecMonotonic":
				return dbus.MakeVariant(tp.nextMonotonic), nil
			}
		}
	}
	return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty",
		[]any{fmt.Sprintf("unknown property %s.%s of %s", iface, prop, unit)})
}

// unitName finds the unit a unit object path names (the escaping of
// systemd.UnitPath undone).
func unitName(path dbus.ObjectPath) string {
	s := strings.TrimPrefix(string(path), unitPrefix+"/")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &c); err == nil {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func fileNotFound(path string) *dbus.Error {
	return dbus.NewError(systemd.ErrNameFileNotFound, []any{"Unit file " + path + " does not exist."})
}

func noSuchUnit(name string) *dbus.Error {
	return dbus.NewError(systemd.ErrNameNoSuchUnit, []any{"Unit " + name + " not loaded."})
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
