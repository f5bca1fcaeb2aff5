// Package systemd is the one client of systemd's D-Bus API in the tree
// (org.freedesktop.systemd1, on github.com/godbus/dbus/v5): reload, enable
// and disable unit files, start, stop and restart units and wait for their
// jobs, and read unit properties. The fallback backends restart ntpd and
// timesyncd through it; package schedule installs the timer through it.
// Package systemdtest runs a private bus with a fake manager for tests.
package systemd
