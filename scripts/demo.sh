#!/bin/sh
# make demo: the whole job of ntp-optimizer in under a minute, without
# internet. It starts a simulated NTP server lab on loopback (good servers,
# a jittery, a lossy, a low-jitter falseticker, a rate-limiting and an
# unsynchronised one), a sandboxed chronyd (-x: it never touches the
# clock) that starts on two mediocre lab servers, runs `apply` twice, then
# `sources` and `status`, and tears everything down.
set -eu

bin=${BIN:-bin}
scenario=${DEMO_SCENARIO:-testdata/lab/demo.toml}
port=${DEMO_PORT:-11123}
base=${DEMO_BASE:-127.0.21.1}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	echo "demo: chronyd needs root to run even sandboxed; run: sudo make demo" >&2
	exit 1
fi
if ! command -v chronyd >/dev/null 2>&1; then
	if command -v apt-get >/dev/null 2>&1; then
		say "installing chrony from the package archive"
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chrony >/dev/null
	else
		echo "demo: chronyd is missing: install chrony (dnf install chrony / apt-get install chrony)" >&2
		exit 1
	fi
fi
chronyd=$(command -v chronyd)

dir=$(mktemp -d /tmp/ntp-optimizer-demo.XXXXXX)
lab_pid= chronyd_pid=
cleanup() {
	[ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null
	[ -f "$dir/run/chronyd.pid" ] && kill "$(cat "$dir/run/chronyd.pid")" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting the server lab ($scenario) on $base and following /24s, port $port"
"$bin/ntplab" run --spread --base "$base" --port "$port" --addresses-file "$dir/addrs" "$scenario" >"$dir/lab.log" 2>&1 &
lab_pid=$!
i=0
until [ -s "$dir/addrs" ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$dir/lab.log"; echo "demo: the lab did not start" >&2; exit 1; }
	sleep 0.1
done
# addrs lines: ADDRESS PORT NAME
while read -r addr p name; do printf '  %-16s %s\n' "$addr" "$name"; done <"$dir/addrs"
addr_of() { awk -v n="$1" '$3 == n { print $1 }' "$dir/addrs"; }
awk '{ print $1 ":" $2 "  # " $3 }' "$dir/addrs" >"$dir/servers"

say "starting a sandboxed chronyd (-x) on two mediocre servers: $(addr_of jittery) (jittery), $(addr_of lossy) (lossy)"
mkdir -m 0700 "$dir/run"
mkdir "$dir/sources.d" "$dir/state"
cat >"$dir/chrony.conf" <<CONF
# ntp-optimizer demo: never touches the clock (chronyd -x), own socket and pidfile
cmdport 0
port 0
bindcmdaddress $dir/run/chronyd.sock
pidfile $dir/run/chronyd.pid
server $(addr_of jittery) port $port iburst minpoll -2 maxpoll 0
server $(addr_of lossy) port $port iburst minpoll -2 maxpoll 0
sourcedir $dir/sources.d
CONF
"$chronyd" -x -u root -f "$dir/chrony.conf" -l "$dir/chronyd.log"
opt="--chrony-socket $dir/run/chronyd.sock"
i=0
until "$bin/ntp-optimizer" --log-level error sources -n $opt 2>/dev/null | grep -q '^\^\*'; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$dir/chronyd.log"; echo "demo: chronyd did not synchronise" >&2; exit 1; }
	sleep 0.1
done
"$bin/ntp-optimizer" sources -n $opt

say "ntp-optimizer apply (run 1): measure, score, choose, apply live"
"$bin/ntp-optimizer" --log-level warn apply --no-schedule $opt --chrony-conf "$dir/chrony.conf" \
	--state-dir "$dir/state" --servers-file "$dir/servers" --no-discovery --spacing 500ms \
	--source-options "iburst minpoll -2 maxpoll 0" --answer-timeout 10s --verify-timeout 20s
sleep 1
say "ntp-optimizer apply (run 2): a poor member loses a second run in a row and is replaced"
"$bin/ntp-optimizer" --log-level warn apply --no-schedule $opt --chrony-conf "$dir/chrony.conf" \
	--state-dir "$dir/state" --servers-file "$dir/servers" --no-discovery --spacing 500ms \
	--source-options "iburst minpoll -2 maxpoll 0" --answer-timeout 10s --verify-timeout 20s |
	grep -Ev '^(Rank|[0-9]+ )' || true
sleep 2
say "ntp-optimizer sources -v"
"$bin/ntp-optimizer" sources -v -n $opt
say "ntp-optimizer status"
"$bin/ntp-optimizer" status $opt --state-dir "$dir/state"
say "the sources file chronyd reads after a restart ($dir/sources.d/ntp-optimizer.sources)"
cat "$dir/sources.d/ntp-optimizer.sources"
say "done: everything is torn down"
