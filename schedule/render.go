package schedule

import (
	"fmt"
	"strings"
)

const header = "# Written by \"ntp-optimizer install\"; run it again to change this file.\n"

// RenderService returns ntp-optimizer.service.
func RenderService(c UnitConfig) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	exec := []string{quoteArg(c.Binary), "apply", "--no-schedule"}
	for _, a := range c.ApplyArgs {
		exec = append(exec, quoteArg(a))
	}
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, `[Unit]
Description=ntp-optimizer: measure NTP servers and apply the best set
Documentation=man:ntp-optimizer(8)
Wants=network-online.target
After=network-online.target chrony.service chronyd.service ntpsec.service ntp.service systemd-timesyncd.service

[Service]
Type=oneshot
ExecStart=%s
TimeoutStartSec=%s
Nice=10
IOSchedulingClass=idle

# Hardening. The run only writes its state and log directories and the
# NTP daemons' configuration; everything else is read-only.
ProtectSystem=strict
StateDirectory=ntp-optimizer
LogsDirectory=ntp-optimizer
ReadWritePaths=%s
ProtectHome=yes
# PrivateTmp=no on purpose: the client socket is bound beside chronyd's
# command socket, and a chronyd run with its socket under /tmp (containers,
# test labs, --chrony-socket) would be invisible behind a private /tmp.
PrivateTmp=no
NoNewPrivileges=yes
# chronyd's socket directory (/run/chrony) belongs to its own user: root
# needs CAP_DAC_OVERRIDE to bind beside it. Nothing else is needed: NTP
# probes use unprivileged ports and the clock is never set by this service.
CapabilityBoundingSet=CAP_DAC_OVERRIDE
AmbientCapabilities=
PrivateDevices=yes
ProtectClock=yes
ProtectHostname=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UMask=0022
`, strings.Join(exec, " "), FormatSpan(c.Timeout), strings.Join(c.writablePaths(), " "))
	return b.String(), nil
}

// RenderTimer returns ntp-optimizer.timer.
func RenderTimer(c UnitConfig) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, `[Unit]
Description=Run ntp-optimizer every %[1]s
Documentation=man:ntp-optimizer(8)

[Timer]
OnBootSec=%[2]s
OnUnitActiveSec=%[1]s
# Spread a fleet so its machines never query the same servers together.
RandomizedDelaySec=%[3]s
AccuracySec=%[4]s
Persistent=true
Unit=%[5]s

[Install]
WantedBy=timers.target
`, FormatSpan(c.Interval), FormatSpan(c.OnBoot), FormatSpan(c.randomizedDelay()), FormatSpan(c.Accuracy), ServiceName)
	return b.String(), nil
}
