#!/bin/sh
# Build the Debian package with nfpm (deploy/nfpm.yaml):
#   scripts/deb.sh [OUTDIR]       -> OUTDIR/ntp-optimizer_<version>_<arch>.deb
#   scripts/deb.sh --print-version   the version it would give the package
# OUTDIR defaults to dist/. Environment: GO (go), MAKE (make), GOARCH (the
# host's), DEB_VERSION (from git, below), NFPM (the nfpm command; default:
# nfpm v2.45.2 built from the Go module proxy with "go run").
#
# Versions sort in commit order: a tag v1.2.3 is 1.2.3; N commits after it
# 1.2.3+gitN.gHASH; without a tag 0.0.0~gitYYYYMMDD.HHMMSS.HASH, the commit
# time in UTC (two snapshots of one day sort by time, not by hash). A tree
# with uncommitted changes adds +dirty (or .dirty).
#
# The binary is built by "make build" (one definition of tags and flags);
# the default configuration is deploy/config.toml when it exists, else the
# all-commented deploy/config.example.toml.
set -eu
cd "$(dirname "$0")/.."

GO=${GO:-go}
desc=$(git describe --tags --always --dirty 2>/dev/null || echo dev)

# commit_time FORMAT: the commit's time in UTC, in strftime FORMAT.
commit_time() {
	TZ=UTC0 LC_ALL=C git log -1 --date="format-local:$1" --format=%cd 2>/dev/null ||
		TZ=UTC0 LC_ALL=C date -u ${SOURCE_DATE_EPOCH:+-d "@$SOURCE_DATE_EPOCH"} "+$1"
}

if [ -z "${DEB_VERSION:-}" ]; then
	dirty=
	case $desc in *-dirty) dirty=1 desc0=${desc%-dirty} ;; *) desc0=$desc ;; esac
	case $desc0 in
	v[0-9]*)
		# v1.2.3-rc1-5-gabc: -N-gHASH is the distance; other - become ~.
		DEB_VERSION=$(echo "${desc0#v}" | sed -E 's/-([0-9]+)-g([0-9a-f]+)$/+git\1.g\2/; s/-/~/g')
		;;
	*)
		hash=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
		DEB_VERSION="0.0.0~git$(commit_time %Y%m%d.%H%M%S).$hash"
		;;
	esac
	if [ -n "$dirty" ]; then
		case $DEB_VERSION in *+*) DEB_VERSION="$DEB_VERSION.dirty" ;; *) DEB_VERSION="$DEB_VERSION+dirty" ;; esac
	fi
fi
if [ "${1:-}" = --print-version ]; then
	echo "$DEB_VERSION"
	exit 0
fi

out=${1:-dist}
arch=${GOARCH:-$($GO env GOARCH)}
stage=$(mktemp -d "${TMPDIR:-/tmp}/ntpo-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# The binary exactly as "make build" makes it (static: CGO_ENABLED=0 even
# when the caller's environment, e.g. go test -race, sets 1).
CGO_ENABLED=0 GOOS=linux GOARCH=$arch ${MAKE:-make} --no-print-directory build \
	GO="$GO" BIN="$stage/bin" VERSION="$desc" >/dev/null
cp "$stage/bin/ntp-optimizer" "$stage/ntp-optimizer"

# The man page and the completions come from the CLI itself, run from a
# host build so cross-builds work too.
host="$stage/host/ntp-optimizer"
CGO_ENABLED=0 $GO build -o "$host" ./cmd/ntp-optimizer
page=$("$host" man)
printf '%s\n' "$page" | gzip -9n >"$stage/ntp-optimizer.8.gz"
for sh in bash zsh fish; do
	"$host" completion "$sh" >"$stage/completion.$sh"
done
if [ -f deploy/config.toml ]; then
	cp deploy/config.toml "$stage/config.toml"
else
	cp deploy/config.example.toml "$stage/config.toml"
fi

# The Debian changelog of this (native) package: one entry for this
# version, dated at the commit; the changes themselves are the project's
# CHANGELOG.md, shipped beside it.
maintainer=$(sed -n 's/^maintainer: //p' deploy/nfpm.yaml)
{
	echo "ntp-optimizer ($DEB_VERSION) unstable; urgency=medium"
	echo
	echo "  * Built from $desc, committed $(commit_time '%Y-%m-%d %H:%M:%S') UTC."
	echo "  * The changes are in /usr/share/doc/ntp-optimizer/CHANGELOG.md.gz."
	echo
	echo " -- $maintainer  $(commit_time '%a, %d %b %Y %H:%M:%S +0000')"
} | gzip -9n >"$stage/changelog.gz"
gzip -9nc CHANGELOG.md >"$stage/CHANGELOG.md.gz"

# nfpm expands the environment only in some fields (not in src): fill the
# placeholders in a copy of the configuration.
sed -e "s|\${NTPO_STAGE}|$stage|g" -e "s|\${NTPO_ARCH}|$arch|g" -e "s|\${NTPO_VERSION}|$DEB_VERSION|g" \
	deploy/nfpm.yaml >"$stage/nfpm.yaml"

mkdir -p "$out"
${NFPM:-$GO run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2} \
	package --config "$stage/nfpm.yaml" --packager deb --target "$out/"
