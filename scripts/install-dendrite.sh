#!/usr/bin/env bash
# Builds Dendrite v0.15.2 (the homeserver of the demo and the end-to-end suite) and its
# generate-keys into ${RINGO_CACHE:-$HOME/.cache/ringo}/dendrite-v0.15.2/bin once; later
# runs reuse them (~instant). The pin lives in tools/dendrite (a nested module, so the
# main module never sees Dendrite's dependencies). cgo is needed for SQLite.
# Safe to run concurrently: builds are serialised with flock and installed atomically.
set -euo pipefail
VERSION=v0.15.2
TOOLS="$(cd "$(dirname "$0")/../tools/dendrite" && pwd)"
CACHE=${RINGO_CACHE:-$HOME/.cache/ringo}
OUT=$CACHE/dendrite-$VERSION/bin

have() { [ -x "$OUT/dendrite" ] && [ -x "$OUT/generate-keys" ]; }

if have; then
	echo "$OUT"
	exit 0
fi
mkdir -p "$OUT"
exec 9>"$OUT/../.build.lock"
flock 9
if have; then # another run built it while we waited
	echo "$OUT"
	exit 0
fi
echo "install-dendrite: building Dendrite $VERSION (about 2 minutes the first time)" >&2
cd "$TOOLS"
for cmd in dendrite generate-keys; do
	tmp="$OUT/.$cmd.tmp.$$"
	CGO_ENABLED=1 GOFLAGS=-mod=readonly go build -trimpath -o "$tmp" "github.com/element-hq/dendrite/cmd/$cmd"
	mv -f "$tmp" "$OUT/$cmd"
done
echo "$OUT"
