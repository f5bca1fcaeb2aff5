#!/bin/sh
# "make install": install a built bin/ntp-optimizer with its systemd units,
# man page and (when absent) default configuration.
#   DESTDIR   staging root (default: none, i.e. this machine)
#   SBINDIR   /usr/sbin        UNITDIR  /etc/systemd/system
#   MANDIR    /usr/share/man   CONFDIR  /etc/ntp-optimizer
#   BIN       bin (where make build put ntp-optimizer)
# It does not enable the timer: run "systemctl enable --now
# ntp-optimizer.timer", or "ntp-optimizer install" to choose the interval.
set -eu
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
SBINDIR=${SBINDIR:-/usr/sbin}
UNITDIR=${UNITDIR:-/etc/systemd/system}
MANDIR=${MANDIR:-/usr/share/man}
CONFDIR=${CONFDIR:-/etc/ntp-optimizer}
BIN=${BIN:-bin}

bin="$BIN/ntp-optimizer"
[ -x "$bin" ] || { echo "install: $bin is missing: run 'make build' first" >&2; exit 1; }

install -d -m 0755 "$DESTDIR$SBINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$MANDIR/man8" "$DESTDIR/var/lib/ntp-optimizer"
install -d -m 0755 "$DESTDIR$CONFDIR"
install -m 0755 "$bin" "$DESTDIR$SBINDIR/ntp-optimizer"
for u in ntp-optimizer.service ntp-optimizer.timer; do
	# The packaged units run /usr/sbin/ntp-optimizer; follow SBINDIR.
	sed "s|/usr/sbin/ntp-optimizer|$SBINDIR/ntp-optimizer|" "deploy/systemd/$u" >"$DESTDIR$UNITDIR/$u.tmp"
	chmod 0644 "$DESTDIR$UNITDIR/$u.tmp"
	mv "$DESTDIR$UNITDIR/$u.tmp" "$DESTDIR$UNITDIR/$u"
done
# A build with the urfave_cli_no_docs tag has no man page generator: then
# generate the page from the source.
page=$("$bin" man 2>/dev/null) || page=$(${GO:-go} run ./cmd/ntp-optimizer man)
printf '%s\n' "$page" | gzip -9n >"$DESTDIR$MANDIR/man8/ntp-optimizer.8.gz"
chmod 0644 "$DESTDIR$MANDIR/man8/ntp-optimizer.8.gz"

conf="$DESTDIR$CONFDIR/config.toml"
if [ -e "$conf" ]; then
	echo "install: keeping the existing $conf"
else
	src=deploy/config.toml
	[ -f "$src" ] || src=deploy/config.example.toml
	install -m 0600 "$src" "$conf"
fi

if [ -z "$DESTDIR" ]; then
	# The sandboxed service can only write directories that exist when it
	# starts: make timesyncd's drop-in directory if timesyncd is installed.
	for ts in /lib/systemd/systemd-timesyncd /usr/lib/systemd/systemd-timesyncd; do
		[ -x "$ts" ] && { mkdir -p /etc/systemd/timesyncd.conf.d; break; }
	done
fi

echo "installed $SBINDIR/ntp-optimizer, $UNITDIR/ntp-optimizer.{service,timer}, $MANDIR/man8/ntp-optimizer.8.gz, $CONFDIR/config.toml"
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	echo "enable the timer with: systemctl enable --now ntp-optimizer.timer"
fi
