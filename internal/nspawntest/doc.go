// Package nspawntest boots a real systemd for tests: a minbase Debian 12
// (bookworm) root with systemd as PID 1 in a systemd-nspawn container
// (../shared/reference/systemd-in-a-container.md has the recipe).
//
// Roots are built with debootstrap on first use and cached under
// /var/cache/ntp-optimizer-ci (NTPO_NSPAWN_CACHE): one per NTP daemon,
// since Debian's chrony conflicts with ntpsec and systemd-timesyncd
// ([Chrony], [NTPsec], [Timesyncd]). Each [Boot] runs on an overlayfs over
// the cached root (the writes go to the test's temporary directory, the
// cache is never changed), so a boot costs about two seconds and every test
// starts from the same pristine system.
//
// The container shares the host's network namespace (nspawn's default), so
// daemons inside reach ntplab servers on 127.0.0.0/8; it has no
// CAP_SYS_TIME, so nothing inside can set the host's clock. chronyd runs
// only with -x ([ChronyDropIn]).
//
// Like the other real-daemon tests: without root, systemd-nspawn, nsenter
// or debootstrap the tests skip with a message, and with CI=true they fail.
package nspawntest
