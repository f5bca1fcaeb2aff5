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
	"github.com/godbus/dbus/v5/prop"
)

const (
	busName     = "org.freedesktop.systemd1"
	managerPath = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIfc  = "org.freedesktop.systemd1.Manager"
	timerIfc    = "org.freedesktop.systemd1.Timer"
)

// Call is one manager method call the fake received.
type Call struct {
	Method string
	Args   []string
}

func (c Call) String() string { return c.Method + "(" + strings.Join(c.Args, ",") + ")" }

// Fake is a fake systemd manager on a bus.
type Fake struct {
	// UnitDir is the directory the fake loads units from and creates
	// enablement symlinks in.
	UnitDir string

	conn   *dbus.Conn
	timers map[string]*prop.Properties

	mu        sync.Mutex
	calls     []Call
	loaded    map[string]bool
	active    map[string]bool
	jobResult string
	nextJob   uint32
}

// StartFake connects to the bus at address, takes the name
// org.freedesktop.systemd1 and serves the manager from unitDir. timers are
// the .timer units whose properties it exports (all zero at first).
func StartFake(t testing.TB, address, unitDir string, timers ...string) *Fake {
	t.Helper()
	conn, err := dbus.Connect(address)
	if err != nil {
		t.Fatalf("fake systemd: connecting to %s: %v", address, err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &Fake{UnitDir: unitDir, conn: conn, timers: map[string]*prop.Properties{},
		loaded: map[string]bool{}, active: map[string]bool{}, jobResult: "done"}
	if err := conn.Export(&manager{f}, managerPath, managerIfc); err != nil {
		t.Fatal(err)
	}
	for _, name := range timers {
		p, err := prop.Export(conn, unitPath(name), prop.Map{timerIfc: {
			"LastTriggerUSec":         {Value: uint64(0)},
			"NextElapseUSecRealtime":  {Value: uint64(0)},
			"NextElapseUSecMonotonic": {Value: uint64(0)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		f.timers[name] = p
	}
	reply, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("fake systemd: taking %s: %v (reply %v)", busName, err, reply)
	}
	return f
}

// SetTimer sets a timer's properties (systemd's usec_t values).
func (f *Fake) SetTimer(name string, lastTrigger, nextRealtime, nextMonotonic uint64) {
	p := f.timers[name]
	p.SetMust(timerIfc, "LastTriggerUSec", lastTrigger)
	p.SetMust(timerIfc, "NextElapseUSecRealtime", nextRealtime)
	p.SetMust(timerIfc, "NextElapseUSecMonotonic", nextMonotonic)
}

// SetJobResult sets the result the next jobs end with ("done", "failed").
func (f *Fake) SetJobResult(r string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobResult = r
}

// Calls returns the calls received so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Active reports whether a unit was started and not stopped since.
func (f *Fake) Active(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active[name]
}

// Loaded reports whether the last Reload found the unit.
func (f *Fake) Loaded(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loaded[name]
}

// unitPath is systemd's object path for a unit (sd_bus_path_encode).
func unitPath(name string) dbus.ObjectPath {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return dbus.ObjectPath("/org/freedesktop/systemd1/unit/" + b.String())
}

// wantedBy returns the WantedBy= targets of a unit file's [Install].
func wantedBy(content string) []string {
	var out []string
	inInstall := false
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			inInstall = line == "[Install]"
			continue
		}
		if v, ok := strings.CutPrefix(line, "WantedBy="); ok && inInstall {
			out = append(out, strings.Fields(v)...)
		}
	}
	return out
}

func (f *Fake) emitJobRemoved(id uint32, job dbus.ObjectPath, unit, result string) {
	time.Sleep(10 * time.Millisecond) // after the method reply, as systemd does
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

func fileNotFound(path string) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.FileNotFound", []any{"Unit file " + path + " does not exist."})
}

func noSuchUnit(name string) *dbus.Error {
	return dbus.NewError("org.freedesktop.systemd1.NoSuchUnit", []any{"Unit " + name + " not loaded."})
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
