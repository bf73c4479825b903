#!/usr/bin/env bash
# The demo: installs what is missing, builds Ringo, starts a local Dendrite + coturn,
# serves the app and prints two sign-in links. Ctrl-C stops everything.
# Flags go to cmd/ringo-demo (e.g. -addr 127.0.0.1:9090, -check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash build.sh
exec go run ./cmd/ringo-demo "$@"
