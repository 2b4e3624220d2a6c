#!/usr/bin/env bash
# A real browser against our WebSocket server: headless Chromium (Debian's package) opens a
# WebSocket to the ws_echo example, negotiates permessage-deflate, and round-trips text and
# binary messages (conformance/browser/ws-echo.js, through playwright-core).
#
# Installs what it needs: Debian's chromium (apt-get, as root) when /usr/bin/chromium is
# missing, and playwright-core (npm, pinned) under target/conformance/browser.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_CORE_VERSION=1.65.1
root=target/conformance/browser
mkdir -p "$root"

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
if [ ! -f "$root/node_modules/playwright-core/package.json" ] ||
  ! grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$root/node_modules/playwright-core/package.json"; then
  echo "installing playwright-core $PLAYWRIGHT_CORE_VERSION into $root"
  npm install --silent --no-audit --no-fund --prefix "$root" "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
fi

cargo build --release --quiet -p sockeye-tokio --example ws_echo
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/examples/ws_echo "127.0.0.1:$port" >"$root/ws_echo.log" 2>&1 &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done

NODE_PATH="$root/node_modules" timeout 120 node conformance/browser/ws-echo.js "ws://127.0.0.1:$port/"
