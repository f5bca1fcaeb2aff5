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
