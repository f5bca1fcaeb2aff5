#!/bin/sh
# Install what the tests need, when it is missing:
#   - chronyd from Debian's archive (Debian 12: chrony 4.3);
#   - a Debian 13 (trixie) chroot with chronyd 4.6, for the cross-release
#     tests, at $NTPO_CHRONY46_ROOT (default below). It is reused when present.
# Needs root to install; without root it says what is missing and goes on
# (the tests then skip what they cannot run, unless CI=true).
set -eu

root46=${NTPO_CHRONY46_ROOT:-/var/cache/ntp-optimizer-ci/trixie-chrony}
mirror=${NTPO_DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "test-deps: $*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }

apt_updated=
apt_install() {
	if [ -z "$apt_updated" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

if ! command -v chronyd >/dev/null 2>&1 && [ ! -x /usr/sbin/chronyd ]; then
	if is_root && command -v apt-get >/dev/null 2>&1; then
		say "installing chrony from the package archive"
		apt_install chrony
		# The package starts the host's chronyd where systemd runs; the tests
		# never talk to it (they use their own sandboxed daemons).
	else
		say "chronyd is missing: run 'sudo apt-get install chrony' (tests that need it will skip, or fail with CI=true)"
	fi
fi

if [ -x "$root46/usr/sbin/chronyd" ]; then
	: # reuse
elif is_root && command -v apt-get >/dev/null 2>&1; then
	command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
	say "creating the Debian 13 chroot with chronyd 4.6 at $root46 (about a minute, 250 MB)"
	rm -rf "$root46.tmp"
	mkdir -p "$(dirname "$root46")"
	debootstrap --variant=minbase --include=chrony trixie "$root46.tmp" "$mirror" >"$root46.log" 2>&1 ||
		{ say "debootstrap failed, see $root46.log"; exit 1; }
	mv "$root46.tmp" "$root46"
else
	say "no chronyd 4.6 chroot at $root46 and not root: the 4.6 tests will skip (or fail with CI=true)"
fi

if [ -d "$root46" ] && is_root; then
	# Let chronyd inside the chroot see the host's paths: $root46$root46 -> /,
	# so a path under $root46 means the same file inside and outside.
	mkdir -p "$root46$(dirname "$root46")"
	ln -sfn / "$root46$root46"
	grep -q localhost "$root46/etc/hosts" 2>/dev/null ||
		printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' >>"$root46/etc/hosts"
fi

# Tools the fallback and D-Bus tests use.
if is_root && command -v apt-get >/dev/null 2>&1; then
	missing=
	command -v dbus-daemon >/dev/null 2>&1 || missing="$missing dbus-daemon"
	command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
	command -v patch >/dev/null 2>&1 || missing="$missing patch"
	command -v chattr >/dev/null 2>&1 || missing="$missing e2fsprogs"
	command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
	command -v prometheus-node-exporter >/dev/null 2>&1 || missing="$missing prometheus-node-exporter"
	command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
	command -v ansible-playbook >/dev/null 2>&1 || missing="$missing ansible-core"
	command -v groff >/dev/null 2>&1 || missing="$missing groff-base"
	command -v mandoc >/dev/null 2>&1 || missing="$missing mandoc"
	command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || missing="$missing logrotate"
	command -v lintian >/dev/null 2>&1 || missing="$missing lintian"
	# The booted-container tests (internal/nspawntest) build their bookworm
	# roots with debootstrap on first use, under /var/cache/ntp-optimizer-ci.
	command -v systemd-nspawn >/dev/null 2>&1 || missing="$missing systemd-container"
	command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
	# The report's rendering test takes screenshots with headless Chromium
	# (about 150 MB to download, 470 MB installed, with its libraries).
	command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
	if [ -n "$missing" ]; then
		say "installing$missing"
		# Packages with services (prometheus) must not start them here.
		policy=/usr/sbin/policy-rc.d
		[ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; trap 'rm -f "$policy"' EXIT; }
		apt_install $missing
	fi
fi

# Debian's ntpsec conflicts with chrony, so it is unpacked, not installed;
# the tests run its ntpd without CAP_SYS_TIME in network namespaces.
ntpsec=${NTPO_NTPSEC_ROOT:-/var/cache/ntp-optimizer-ci/ntpsec}
if [ -x "$ntpsec/usr/sbin/ntpd" ]; then
	: # reuse
elif is_root && command -v apt-get >/dev/null 2>&1; then
	say "unpacking Debian's ntpsec into $ntpsec"
	[ -n "$apt_updated" ] || { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null; apt_updated=1; }
	dl=$(mktemp -d)
	chmod 755 "$dl"
	(cd "$dl" && apt-get download -q ntpsec >/dev/null 2>&1) || { say "apt-get download ntpsec failed"; exit 1; }
	rm -rf "$ntpsec.tmp"
	mkdir -p "$ntpsec.tmp"
	dpkg-deb -x "$dl"/ntpsec_*.deb "$ntpsec.tmp"
	rm -rf "$dl"
	mv "$ntpsec.tmp" "$ntpsec"
else
	say "Debian's ntpd is not unpacked at $ntpsec and not root: the real-ntpd test will skip (or fail with CI=true)"
fi
