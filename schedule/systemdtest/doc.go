// Package systemdtest runs a private dbus-daemon and a fake
// org.freedesktop.systemd1 manager on it, so the real D-Bus client code
// (go-systemd's dbus package, as schedule.Systemd uses it) is exercised in
// tests on machines where systemd does not run.
//
// The fake implements the manager calls ntp-optimizer makes — Reload,
// EnableUnitFiles, DisableUnitFiles, StartUnit, StopUnit with their
// JobRemoved signals — with systemd's semantics where the tests rely on
// them: units are loaded from the unit directory on Reload, enabling
// creates the [Install] symlink in that directory, unknown units answer
// org.freedesktop.systemd1.NoSuchUnit and missing unit files
// org.freedesktop.DBus.Error.FileNotFound. It also exports the timer
// properties status reads (LastTriggerUSec, NextElapseUSecRealtime,
// NextElapseUSecMonotonic).
package systemdtest
