// Package chronytest starts sandboxed chronyd daemons for tests.
//
// Every daemon runs as "chronyd -x -u root -d -f CONF": -x keeps it from
// touching the system clock, and its configuration points every path into
// a fresh temporary directory: the command socket in a 0700 directory,
// its own pidfile, "cmdport 0" (no UDP command port unless asked for) and
// "port 0" (no NTP server) for client daemons. Servers made with
// StartServer serve NTP on a random loopback address 127.x.y.z and a
// random port, with "local stratum N" and "allow 127.0.0.0/8", so tests in
// parallel packages do not collide. Daemons are killed and their
// directories removed by t.Cleanup.
//
// Two chrony releases are available: the host's chronyd (Debian 12, 4.3)
// and Debian 13's 4.6 in a chroot at $NTPO_CHRONY46_ROOT (default
// /var/cache/ntp-optimizer-ci/trixie-chrony, made by scripts/test-deps.sh).
// Inside the chroot a link ROOT/ROOT -> / makes every host path under ROOT
// valid, so the 4.6 daemon's files live under ROOT/tmp and are given to it
// by their host paths.
//
// When the chronyd a test needs is missing (or the test is not root), Need
// skips the test with a message; with CI=true it fails it instead, so CI
// never passes by skipping.
package chronytest
