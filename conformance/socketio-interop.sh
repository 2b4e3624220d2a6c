#!/usr/bin/env bash
# The official JavaScript Socket.IO clients against the sio_interop example
# (conformance/socketio/interop.js): socket.io-client 4.x (protocol v5 / Engine.IO v4) and
# 2.x (protocol v4 / Engine.IO v3), each over websocket only, polling only, and polling
# upgraded to websocket: namespaces and auth, acks both ways, binary (nested, in acks),
# rooms and broadcasts seen by the right clients only, disconnect reasons on both sides,
# reconnection after the server closes the transport. And engine.io-client 6.x on the same
# server's Engine.IO layer (conformance/socketio/engineio-client.js): handshake, raw packets
# both ways, upgrade, close.
#
# Installs the npm packages (pinned) under target/conformance/socketio.
set -euo pipefail
cd "$(dirname "$0")/.."

SOCKET_IO_CLIENT_VERSION=4.8.4
SOCKET_IO_CLIENT_V2_VERSION=2.5.0
ENGINE_IO_CLIENT_VERSION=6.6.4
root=target/conformance/socketio
mkdir -p "$root"

need() { # package version
  [ -f "$root/node_modules/$1/package.json" ] &&
    grep -q "\"version\": \"$2\"" "$root/node_modules/$1/package.json"
}
if ! need socket.io-client "$SOCKET_IO_CLIENT_VERSION" || ! need socket.io-client-v2 "$SOCKET_IO_CLIENT_V2_VERSION" ||
  ! need engine.io-client "$ENGINE_IO_CLIENT_VERSION"; then
  echo "installing socket.io-client $SOCKET_IO_CLIENT_VERSION and $SOCKET_IO_CLIENT_V2_VERSION, engine.io-client $ENGINE_IO_CLIENT_VERSION into $root"
  npm install --silent --no-audit --no-fund --prefix "$root" \
    "socket.io-client@$SOCKET_IO_CLIENT_VERSION" \
    "socket.io-client-v2@npm:socket.io-client@$SOCKET_IO_CLIENT_V2_VERSION" \
    "engine.io-client@$ENGINE_IO_CLIENT_VERSION" >/dev/null
fi

cargo build --release --quiet -p sockeye-tokio --example sio_interop
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/examples/sio_interop "127.0.0.1:$port" >"$root/sio_interop.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done

status=0
for client in v4 v2; do
  for mode in websocket polling upgrade; do
    NODE_PATH="$root/node_modules" timeout 120 node conformance/socketio/interop.js \
      "http://127.0.0.1:$port" "$client" "$mode" || status=1
  done
done
for mode in websocket polling upgrade; do
  NODE_PATH="$root/node_modules" timeout 60 node conformance/socketio/engineio-client.js \
    "http://127.0.0.1:$port" "$mode" || status=1
done
exit $status
