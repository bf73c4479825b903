#!/usr/bin/env bash
# Builds the web app into web/: ringo.wasm (+ .br and .gz), wasm_exec.js from the Go
# installation, and reports sizes. `./build.sh -breakdown` adds the biggest packages;
# `./build.sh -fast` skips compression (the test suite uses it).
set -euo pipefail
cd "$(dirname "$0")"
out=web/ringo.wasm
GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$out.tmp" ./wasm
mv "$out.tmp" "$out"
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js
if [ "${1:-}" = "-fast" ]; then
	# For tests: no compression (and no stale .br/.gz that the server would prefer).
	rm -f "$out.br" "$out.gz"
	exit 0
fi
gzip -9 -n -c "$out" >"$out.gz"
if command -v brotli >/dev/null; then
	brotli -f -q 11 -o "$out.br" "$out"
else
	echo "build: brotli not installed (scripts/setup.sh installs it); no .br written" >&2
	rm -f "$out.br"
fi
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
printf 'ringo.wasm: %d bytes raw, %d gzip -9, %d brotli -q 11\n' "$(size "$out")" "$(size "$out.gz")" "$(size "$out.br")"
if [ "${1:-}" = "-breakdown" ]; then
	# Function body sizes of an unstripped build, summed per package.
	tmp=$(mktemp --suffix=.wasm)
	GOOS=js GOARCH=wasm go build -trimpath -o "$tmp" ./wasm
	go run ./cmd/wasmsize -n 20 "$tmp"
	rm -f "$tmp"
fi
