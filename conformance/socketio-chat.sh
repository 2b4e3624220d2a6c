#!/usr/bin/env bash
# The chat example (the README's main job) against real peers:
# - the official socket.io-client 4.x from npm, over websocket only, polling only, and
#   polling upgraded to websocket (conformance/socketio/chat-clients.js);
# - a real browser: headless Chromium (Debian's package) driven by playwright-core opens the
#   page three times, two in one room and one in another (conformance/socketio/chat-browser.js);
#   the page loads the socket.io-client bundle the server serves with an SRI hash.
#
# Installs what it needs: npm packages (pinned) under target/conformance/socketio, and
# Debian's chromium (apt-get, as root) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SOCKET_IO_CLIENT_VERSION=4.8.4
PLAYWRIGHT_CORE_VERSION=1.65.1
root=target/conformance/socketio
mkdir -p "$root"

need() { # package version
  [ -f "$root/node_modules/$1/package.json" ] &&
    grep -q "\"version\": \"$2\"" "$root/node_modules/$1/package.json"
}
if ! need socket.io-client "$SOCKET_IO_CLIENT_VERSION" || ! need playwright-core "$PLAYWRIGHT_CORE_VERSION"; then
  echo "installing socket.io-client $SOCKET_IO_CLIENT_VERSION and playwright-core $PLAYWRIGHT_CORE_VERSION into $root"
  npm install --silent --no-audit --no-fund --prefix "$root" \
    "socket.io-client@$SOCKET_IO_CLIENT_VERSION" "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

cargo build --release --quiet -p sockeye-tokio --example chat
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/examples/chat "127.0.0.1:$port" >"$root/chat.log" 2>&1 &
chat_pid=$!
trap 'kill $chat_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done

status=0
NODE_PATH="$root/node_modules" timeout 120 node conformance/socketio/chat-clients.js "http://127.0.0.1:$port" || status=1
NODE_PATH="$root/node_modules" timeout 120 node conformance/socketio/chat-browser.js "http://127.0.0.1:$port/" "$root/chat.png" || status=1
exit $status
