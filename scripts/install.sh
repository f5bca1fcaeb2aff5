#!/bin/sh
# "make install": install a built bin/ntp-optimizer with its systemd units,
# man page, shell completions and (when absent) default configuration.
# "make uninstall" (scripts/install.sh --uninstall) removes them again, but
# the configuration and the state.
#   PREFIX    /usr/local       DESTDIR  staging root (default: this machine)
#   SBINDIR   PREFIX/sbin      UNITDIR  PREFIX/lib/systemd/system
#   MANDIR    PREFIX/share/man DATADIR  PREFIX/share (completions)
#   CONFDIR   /etc/ntp-optimizer (not under PREFIX: the program reads it there)
#   BIN       bin (where make build put ntp-optimizer)
# It does not enable the timer: the first "ntp-optimizer apply" does (after
# "apply --dry-run"), or "ntp-optimizer install --interval ...".
set -eu
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
MANDIR=${MANDIR:-$PREFIX/share/man}
DATADIR=${DATADIR:-$PREFIX/share}
CONFDIR=${CONFDIR:-/etc/ntp-optimizer}
BIN=${BIN:-bin}

bash_completion=$DATADIR/bash-completion/completions/ntp-optimizer
# zsh reads vendor-completions under /usr (Debian), site-functions elsewhere.
case $DATADIR in
/usr/share) zsh_completion=$DATADIR/zsh/vendor-completions/_ntp-optimizer ;;
*) zsh_completion=$DATADIR/zsh/site-functions/_ntp-optimizer ;;
esac
fish_completion=$DATADIR/fish/vendor_completions.d/ntp-optimizer.fish
files="$SBINDIR/ntp-optimizer $UNITDIR/ntp-optimizer.service $UNITDIR/ntp-optimizer.timer $MANDIR/man8/ntp-optimizer.8.gz $bash_completion $zsh_completion $fish_completion"

if [ "${1:-}" = --uninstall ]; then
	if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now ntp-optimizer.timer >/dev/null 2>&1 || true
	fi
	for f in $files; do
		if [ -e "$DESTDIR$f" ]; then
			rm -f "$DESTDIR$f"
			echo "removed $f"
		fi
	done
	# "ntp-optimizer install" drop-ins over these units.
	for d in ntp-optimizer.timer.d/interval.conf ntp-optimizer.service.d/install.conf; do
		f=/etc/systemd/system/$d
		if [ -e "$DESTDIR$f" ]; then
			rm -f "$DESTDIR$f"
			rmdir "$DESTDIR${f%/*}" 2>/dev/null || true
			echo "removed $f"
		fi
	done
	if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
	echo "kept $CONFDIR/config.toml and /var/lib/ntp-optimizer (delete them by hand)"
	exit 0
fi

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
# A build without the man page in it (urfave_cli_no_docs before the page
# was embedded): then generate the page from the source.
page=$("$bin" man 2>/dev/null) || page=$(${GO:-go} run ./cmd/ntp-optimizer man)
printf '%s\n' "$page" | gzip -9n >"$DESTDIR$MANDIR/man8/ntp-optimizer.8.gz"
chmod 0644 "$DESTDIR$MANDIR/man8/ntp-optimizer.8.gz"
for sh in bash zsh fish; do
	eval "f=\$${sh}_completion"
	install -d -m 0755 "$DESTDIR${f%/*}"
	"$bin" completion "$sh" >"$DESTDIR$f"
	chmod 0644 "$DESTDIR$f"
done

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

echo "installed $SBINDIR/ntp-optimizer, $UNITDIR/ntp-optimizer.{service,timer}, $MANDIR/man8/ntp-optimizer.8.gz, completions in $DATADIR, $CONFDIR/config.toml"
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
echo "next: ntp-optimizer apply --dry-run, then ntp-optimizer apply (its first run enables the timer)"
