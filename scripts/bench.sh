#!/usr/bin/env bash
# Ringo's benchmark: the app's size (raw, gzip, brotli, biggest packages), page load to
# interactive, and call set-up latencies and signalling event counts over real Dendrite,
# coturn and Chromium. Reports numbers; asserts nothing about time (noisy machines).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== size"
bash build.sh -breakdown
echo
echo "== latency (5 runs each; first run of each kind is a warm-up)"
RINGO_BENCH=1 go test -count=1 -run 'TestBenchmark' -v ./e2e/ 2>&1 | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS' -e '^ok ' -e '^stack:' -e '^0: :' -e '^time='
