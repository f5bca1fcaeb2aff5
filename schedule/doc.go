// Package schedule runs ntp-optimizer periodically from systemd: it renders
// the hardened ntp-optimizer.service (a oneshot "apply --no-schedule") and
// ntp-optimizer.timer (a few minutes after boot, then every interval, with
// a randomized delay so a fleet never fires together), writes them
// atomically to the unit directory — or, where the package installed them
// (/lib/systemd/system), only the drop-ins ntp-optimizer.timer.d/interval.conf
// and ntp-optimizer.service.d/install.conf — and asks systemd's manager to
// reload, enable and start the timer, or stop, disable and remove it.
// ReadTimerTimes reads when the timer last ran and runs next, for
// "ntp-optimizer status".
//
// The D-Bus side is behind the small Manager and TimerReader interfaces;
// internal/systemd's Conn is the real implementation. The tests run it
// against the fake org.freedesktop.systemd1 of internal/systemd/systemdtest
// on a private dbus-daemon, and run systemd-analyze verify on the rendered
// units.
//
// deploy/systemd holds the units rendered with the packaged defaults
// (binary /usr/sbin/ntp-optimizer, every 6 h); a test keeps them in step
// with the renderer (UPDATE_GOLDEN=1 rewrites them).
package schedule
