// Package systemdtest runs a private dbus-daemon and a fake
// org.freedesktop.systemd1 manager on it, so the real client (package
// systemd, on godbus) is exercised in tests on machines where systemd does
// not run. It is the one fake bus of the tree: the fake timesyncd of
// fallback/fallbacktest runs on the same bus.
//
// The fake implements the manager calls ntp-optimizer makes — Subscribe,
// Reload, EnableUnitFiles, DisableUnitFiles, StartUnit, StopUnit and
// RestartUnit with their JobRemoved signals — with systemd's semantics
// where the tests rely on them: units are loaded from the unit directory
// on Reload (or made known with SetState), enabling creates the [Install]
// symlink in that directory, unknown units answer
// org.freedesktop.systemd1.NoSuchUnit and missing unit files
// org.freedesktop.DBus.Error.FileNotFound. Every unit object answers
// ActiveState; the timers named at start also LastTriggerUSec,
// NextElapseUSecRealtime and NextElapseUSecMonotonic.
package systemdtest
