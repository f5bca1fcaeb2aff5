#!/bin/sh
# Run every Fuzz target in the module for a short time each.
# Usage: scripts/fuzz.sh [FUZZTIME]   (default 10s)
set -eu
fuzztime=${1:-10s}
go=${GO:-go}
for pkg in $($go list ./...); do
	for target in $($go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "== $pkg $target ($fuzztime)"
		$go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
