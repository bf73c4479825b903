#!/usr/bin/env bash
# Installs everything Ringo's demo and tests need on a fresh machine, idempotently:
# Debian packages (Chromium, coturn, brotli), wasmbrowsertest (as go_js_wasm_exec),
# a headless_shell wrapper that gives Chromium the fake-media flags, and Dendrite.
# Everything built lands in $RINGO_CACHE (default ~/.cache/ringo), reused across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=${RINGO_CACHE:-$HOME/.cache/ringo}
BIN=$CACHE/bin
mkdir -p "$BIN"

log() { echo "setup: $*" >&2; }

# --- Debian packages -------------------------------------------------------------
need=()
for pkg in chromium chromium-driver coturn brotli; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq || log "apt-get update failed; trying the install anyway"
	$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The coturn package may enable a system service on 3478; Ringo runs its own instances.

# --- wasmbrowsertest (runs GOOS=js tests in headless Chromium) ---------------------
stamp=$(sha256sum tools/wasmbrowsertest/go.sum | cut -c1-16)
if [ ! -x "$BIN/go_js_wasm_exec" ] || [ "$(cat "$BIN/.wbt-stamp" 2>/dev/null)" != "$stamp" ]; then
	log "building wasmbrowsertest"
	(cd tools/wasmbrowsertest && go build -trimpath -o "$BIN/go_js_wasm_exec" github.com/agnivade/wasmbrowsertest)
	echo "$stamp" >"$BIN/.wbt-stamp"
fi

# --- headless_shell: chromedp (in wasmbrowsertest) runs this first on PATH ----------
cat >"$BIN/headless_shell.new" <<'SH'
#!/bin/sh
# Chromium with fake media devices and no traffic off the machine (ENVIRONMENT.md).
exec /usr/lib/chromium/chromium "$@" --use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
  --disable-component-update --disable-background-networking --disable-sync --no-first-run --disable-gpu \
  --disable-features=WebRtcHideLocalIpsWithMdns,Translate \
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
SH
chmod +x "$BIN/headless_shell.new"
mv "$BIN/headless_shell.new" "$BIN/headless_shell"

# --- matrix-widget-api (the widget host library, for the widget-mode e2e host page) ---
MWA=$CACHE/npm/node_modules/matrix-widget-api/dist/api.js
if [ ! -f "$MWA" ]; then
	if command -v npm >/dev/null; then
		log "installing matrix-widget-api 1.19.0 from npm"
		mkdir -p "$CACHE/npm"
		npm install --silent --no-audit --no-fund --prefix "$CACHE/npm" matrix-widget-api@1.19.0 >/dev/null
	else
		log "npm is needed for the widget-mode e2e host page (matrix-widget-api)"
		exit 1
	fi
fi

# --- Dendrite (the real homeserver for the demo and the end-to-end suite) ----------
if [ -x scripts/install-dendrite.sh ] || [ -f scripts/install-dendrite.sh ]; then
	bash scripts/install-dendrite.sh >/dev/null
fi

log "ready; tools in $BIN"
