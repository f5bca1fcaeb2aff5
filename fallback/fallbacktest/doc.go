// Package fallbacktest holds test helpers for code that drives the
// fallback backends: a private D-Bus daemon, and fakes of
// org.freedesktop.systemd1 and org.freedesktop.timesync1 that speak the
// real D-Bus protocol on it, so the real client code (go-systemd's dbus
// package, godbus) is exercised without systemd.
//
// Tests that use them need dbus-daemon (Debian package dbus-daemon, or
// dbus on older releases). Without it StartBus skips the test, or fails it
// when CI=true.
package fallbacktest
