package systemdtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"
)

// change is systemd's (type, file, destination) enablement change.
type change struct {
	Type        string
	Filename    string
	Destination string
}

// manager holds the exported D-Bus methods, apart from Fake's Go API.
type manager struct{ f *Fake }

func (m *manager) record(method string, args ...string) {
	m.f.calls = append(m.f.calls, Call{Method: method, Args: args})
}

// Subscribe is accepted (the fake always emits JobRemoved); not recorded.
func (m *manager) Subscribe() *dbus.Error { return nil }

// Reload loads every unit file in UnitDir.
func (m *manager) Reload() *dbus.Error {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	m.record("Reload")
	entries, err := os.ReadDir(f.UnitDir)
	if err != nil && !os.IsNotExist(err) {
		return dbus.MakeFailedError(err)
	}
	f.loaded = map[string]bool{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".service") || strings.HasSuffix(e.Name(), ".timer") {
			f.loaded[e.Name()] = true
		}
	}
	return nil
}

// EnableUnitFiles creates the WantedBy= symlinks in UnitDir.
func (m *manager) EnableUnitFiles(files []string, runtime, force bool) (bool, []change, *dbus.Error) {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	m.record("EnableUnitFiles", append(append([]string{}, files...), fmt.Sprint(runtime), fmt.Sprint(force))...)
	var changes []change
	carries := false
	for _, arg := range files {
		path := f.unitFile(arg)
		content, err := os.ReadFile(path)
		if err != nil {
			return false, nil, fileNotFound(path)
		}
		for _, target := range wantedBy(string(content)) {
			carries = true
			dir := filepath.Join(f.UnitDir, target+".wants")
			link := filepath.Join(dir, filepath.Base(path))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return false, nil, dbus.MakeFailedError(err)
			}
			if exists(link) {
				continue
			}
			if err := os.Symlink(path, link); err != nil {
				return false, nil, dbus.MakeFailedError(err)
			}
			changes = append(changes, change{"symlink", link, path})
		}
	}
	return carries, changes, nil
}

// DisableUnitFiles removes the symlinks EnableUnitFiles made.
func (m *manager) DisableUnitFiles(files []string, runtime bool) ([]change, *dbus.Error) {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	m.record("DisableUnitFiles", append(append([]string{}, files...), fmt.Sprint(runtime))...)
	var changes []change
	for _, arg := range files {
		name := filepath.Base(arg)
		links, _ := filepath.Glob(filepath.Join(f.UnitDir, "*.wants", name))
		if len(links) == 0 && !exists(f.unitFile(arg)) {
			return nil, fileNotFound(f.unitFile(arg))
		}
		for _, l := range links {
			if err := os.Remove(l); err != nil {
				return nil, dbus.MakeFailedError(err)
			}
			changes = append(changes, change{"unlink", l, ""})
		}
	}
	return changes, nil
}

// StartUnit starts a known unit.
func (m *manager) StartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return m.job("StartUnit", name, mode)
}

// StopUnit stops a known unit.
func (m *manager) StopUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return m.job("StopUnit", name, mode)
}

// RestartUnit restarts a known unit, running the OnRestart hook.
func (m *manager) RestartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return m.job("RestartUnit", name, mode)
}

// job queues a job: the unit's state changes and JobRemoved is emitted
// once the reply is out. A failed job leaves the unit "failed".
func (m *manager) job(method, name, mode string) (dbus.ObjectPath, *dbus.Error) {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	m.record(method, name, mode)
	if !f.known(name) {
		return "", noSuchUnit(name)
	}
	if mode != "replace" && mode != "fail" {
		return "", dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"Job mode " + mode + " invalid"})
	}
	f.nextJob++
	id := f.nextJob
	job := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", id))
	result, hook := f.jobResult, f.onRestart
	state := map[string]string{"StartUnit": "active", "StopUnit": "inactive", "RestartUnit": "active"}[method]
	go func() {
		if method == "RestartUnit" && hook != nil && hook(name) != nil {
			result = "failed"
		}
		f.mu.Lock()
		switch {
		case result == "done":
			f.states[name] = state
		case method != "StopUnit":
			f.states[name] = "failed"
		}
		f.mu.Unlock()
		f.emitJobRemoved(id, job, name, result)
	}()
	return job, nil
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
