// Package fallbacktest holds a fake org.freedesktop.timesync1 that speaks
// the real D-Bus protocol, for tests of the timesyncd backend. It runs on
// the private bus of internal/systemd/systemdtest, beside that package's
// fake systemd, so the real client code is exercised without systemd.
//
// Tests that use them need dbus-daemon (Debian package dbus-daemon, or
// dbus on older releases). Without it systemdtest.StartBus skips the test,
// or fails it when CI=true.
package fallbacktest
