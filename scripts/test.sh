#!/usr/bin/env bash
# The whole test suite: formatting, vet for both builds, native tests with -race
# (unit, integration and the real-stack end-to-end suite), and the js/wasm tests in
# headless Chromium. Set RINGO_E2E=0 to skip the end-to-end suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CACHE=${RINGO_CACHE:-$HOME/.cache/ringo}
export PATH=$CACHE/bin:$PATH
export GOROOT=$(go env GOROOT) # wasmbrowsertest reads wasm_exec.js from $GOROOT
export GOFLAGS=${GOFLAGS:-}

step() { echo; echo "=== $* ($(date +%T))"; }

step gofmt
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))
if [ -n "$bad" ]; then echo "gofmt needed:"; echo "$bad"; exit 1; fi

step "go vet (native and js/wasm)"
go vet ./...
GOOS=js GOARCH=wasm go vet ./...

step "build the app (size report)"
bash build.sh

step "native tests (-race)"
go test -race -count=1 -timeout 20m ./...

step "js/wasm tests in headless Chromium"
jspkgs=$(GOOS=js GOARCH=wasm go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...)
[ -n "$jspkgs" ] || { echo "no js test packages found"; exit 1; }
out=$(mktemp)
set +e
GOOS=js GOARCH=wasm WASM_HEADLESS=on go test -count=1 -timeout 10m -v $jspkgs 2>&1 | grep -v -e 'unknown IPAddressSpace' -e '^=== RUN' -e '^    --- PASS' | tee "$out"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -c -- '^--- PASS' "$out" || true)
rm -f "$out"
[ "$rc" -eq 0 ] || { echo "js tests failed"; exit "$rc"; }
# A js test file that silently does not build would look like success: insist on tests.
[ "$passed" -gt 0 ] || { echo "no js tests ran"; exit 1; }
echo "js tests passed: $passed"

echo "all tests passed"
