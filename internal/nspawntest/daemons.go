package nspawntest

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
