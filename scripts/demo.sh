#!/bin/sh
# make demo: the whole job of ntp-optimizer in under a minute, without
# internet. It starts a simulated NTP server lab on loopback (good servers,
# a jittery, a lossy, a low-jitter falseticker, a rate-limiting and an
# unsynchronised one), a chronyd serving NTS on its own loopback address
# (a self-signed certificate from `ntplab cert`, its time from a lab server
# of its own), a sandboxed chronyd (-x:
# it never touches the clock) that trusts that certificate and starts on
# two mediocre lab servers, runs `apply` twice, then `sources`, `authdata`
# and `status`, and tears everything down.
set -eu

bin=${BIN:-bin}
scenario=${DEMO_SCENARIO:-testdata/lab/demo.toml}
port=${DEMO_PORT:-11123}
base=${DEMO_BASE:-127.0.21.1}
# The NTS server: an address of its own, after the lab's /24s; NTS-KE on
# chronyd's default ntsport, NTP on the lab's port.
nts_addr=${DEMO_NTS_ADDR:-127.0.40.1}
nts_port=${DEMO_NTS_PORT:-4460}
nts_upstream=${DEMO_NTS_UPSTREAM:-127.0.41.1}

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
lab_pid= upstream_pid=
cleanup() {
	[ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null
	[ -n "$upstream_pid" ] && kill "$upstream_pid" 2>/dev/null
	[ -f "$dir/run/chronyd.pid" ] && kill "$(cat "$dir/run/chronyd.pid")" 2>/dev/null
	[ -f "$dir/nts-run/chronyd.pid" ] && kill "$(cat "$dir/nts-run/chronyd.pid")" 2>/dev/null
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

say "starting an NTS server: chronyd (-x) on $nts_addr, NTS-KE port $nts_port, NTP port $port, synchronised to $nts_upstream"
# Its certificate names the address (subjectAltName); the client below
# trusts it with ntstrustedcerts. Its upstream, a lab server of its own 20 ms
# away (testdata/lab/nts-upstream.toml), gives it a real server's root
# distance: chronyd (authselectmode mix) selects a plain source only if it
# agrees with its NTS sources within their distance.
"$bin/ntplab" run --base "$nts_upstream" --port "$port" --addresses-file "$dir/upstream-addrs" \
	testdata/lab/nts-upstream.toml >"$dir/upstream.log" 2>&1 &
upstream_pid=$!
"$bin/ntplab" cert --ip "$nts_addr" --dir "$dir/nts" >/dev/null
i=0
until [ -s "$dir/upstream-addrs" ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$dir/upstream.log"; echo "demo: the NTS server's upstream did not start" >&2; exit 1; }
	sleep 0.1
done
mkdir -m 0700 "$dir/nts-run" "$dir/nts-dump" "$dir/nts-client-dump"
cat >"$dir/nts-server.conf" <<CONF
# ntp-optimizer demo: an NTS server; never touches the clock (chronyd -x)
cmdport 0
bindcmdaddress $dir/nts-run/chronyd.sock
pidfile $dir/nts-run/chronyd.pid
bindaddress $nts_addr
port $port
allow 127.0.0.0/8
server $nts_upstream port $port iburst minpoll -2 maxpoll -1
ntsport $nts_port
ntsserverkey $dir/nts/nts.key
ntsservercert $dir/nts/nts.crt
ntsdumpdir $dir/nts-dump
ntsprocesses 0
CONF
"$chronyd" -x -u root -f "$dir/nts-server.conf" -l "$dir/nts-server.log" ||
	{ cat "$dir/nts-server.log"; echo "demo: the NTS server did not start" >&2; exit 1; }
i=0
until "$bin/ntp-optimizer" --log-level error sources -n --chrony-socket "$dir/nts-run/chronyd.sock" 2>/dev/null | grep -q '^\^\*'; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$dir/nts-server.log"; echo "demo: the NTS server did not synchronise" >&2; exit 1; }
	sleep 0.1
done
printf '  %-16s %s\n' "$nts_addr" "nts-local (NTS)"
# Listed with nts, so the agent adds it with NTS (servers file: ADDRESS:PORT nts).
printf '%s:%s nts  # nts-local\n' "$nts_addr" "$port" >>"$dir/servers"

say "starting a sandboxed chronyd (-x) on two mediocre servers: $(addr_of jittery) (jittery), $(addr_of lossy) (lossy)"
mkdir -m 0700 "$dir/run"
mkdir "$dir/sources.d" "$dir/state"
cat >"$dir/chrony.conf" <<CONF
# ntp-optimizer demo: never touches the clock (chronyd -x), own socket and pidfile
cmdport 0
port 0
bindcmdaddress $dir/run/chronyd.sock
pidfile $dir/run/chronyd.pid
ntstrustedcerts $dir/nts/nts.crt
ntsdumpdir $dir/nts-client-dump
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
if "$bin/ntp-optimizer" --log-level error sources -n $opt | grep -q " $nts_addr "; then
	say "ntp-optimizer authdata: how chronyd authenticates its sources ($nts_addr with NTS)"
	"$bin/ntp-optimizer" authdata -n $opt
else
	say "ntp-optimizer authdata: $nts_addr (NTS) was not added in these runs"
	"$bin/ntp-optimizer" authdata -n $opt
fi
say "ntp-optimizer status"
"$bin/ntp-optimizer" status $opt --state-dir "$dir/state"
say "the sources file chronyd reads after a restart ($dir/sources.d/ntp-optimizer.sources)"
cat "$dir/sources.d/ntp-optimizer.sources"
say "done: everything is torn down"
