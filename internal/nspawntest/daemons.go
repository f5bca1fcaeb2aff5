package nspawntest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ChronyDropIn runs Debian's chrony.service inside a container: its unit
// skips itself without CAP_SYS_TIME (ConditionCapability=), which the
// container lacks, and chronyd runs with -x so it never touches the clock.
// The "!" starts chronyd as root before it drops to _chrony, as Debian's
// unit does. Pass it in Options.Files.
var ChronyDropIn = map[string]string{
	"/etc/systemd/system/chrony.service.d/lab.conf": `[Unit]
ConditionCapability=
[Service]
ExecStart=
ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS -x
`,
}

// ChronyFiles are the files for a container of the Chrony root whose
// chronyd uses lines (chrony.conf directives, e.g. "server ADDR port N
// iburst") instead of Debian's pool, which is unreachable from tests:
// ChronyDropIn, Debian's chrony.conf with its pool line commented out, and
// /etc/chrony/conf.d/lab.conf with "cmdport 0" (the container shares the
// host's network: no UDP command port there) and the lines.
func ChronyFiles(t testing.TB, lines ...string) map[string]string {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(Ensure(t, Chrony), "etc/chrony/chrony.conf"))
	if err != nil {
		t.Fatalf("nspawntest: Debian's chrony.conf: %v", err)
	}
	files := map[string]string{
		"/etc/chrony/chrony.conf":     regexp.MustCompile(`(?m)^pool `).ReplaceAllString(string(conf), "#pool "),
		"/etc/chrony/conf.d/lab.conf": "# nspawntest\ncmdport 0\n" + strings.Join(append(lines, ""), "\n"),
	}
	for k, v := range ChronyDropIn {
		files[k] = v
	}
	return files
}

// NTPsecDropIn runs Debian's ntpsec.service inside a container: the unit
// skips itself without CAP_SYS_TIME, and Debian's wrapper always adds
// -u ntpsec:ntpsec, whose privilege drop keeps CAP_SYS_TIME and fails
// where the bounding set lacks it ("cap_set_proc() failed to drop root
// privs"). So ntpd runs as root with the wrapper's other options; without
// CAP_SYS_TIME its clock adjustments fail (ntp_adjtime: Operation not
// permitted) and the clock is left alone.
var NTPsecDropIn = map[string]string{
	"/etc/systemd/system/ntpsec.service.d/lab.conf": `[Unit]
ConditionCapability=
[Service]
ExecStart=
ExecStart=/usr/sbin/ntpd -p /run/ntpd.pid -c /etc/ntpsec/ntp.conf -g -N
`,
}

// TimesyncdDropIn runs Debian's systemd-timesyncd.service inside a
// container: the unit skips itself in containers and without
// CAP_SYS_TIME, and asks for CAP_SYS_TIME as an ambient capability, which
// the container cannot grant. Without it timesyncd talks NTP and answers
// on the bus, but cannot set the clock (clock_adjtime: Operation not
// permitted).
var TimesyncdDropIn = map[string]string{
	"/etc/systemd/system/systemd-timesyncd.service.d/lab.conf": `[Unit]
ConditionCapability=
ConditionVirtualization=
[Service]
AmbientCapabilities=
`,
}
