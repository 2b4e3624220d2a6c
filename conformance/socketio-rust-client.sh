#!/usr/bin/env bash
# Our Socket.IO client (sockeye_tokio::socketio::Client, example sio_client_interop) against
# the official Node servers from npm: socket.io 4.x (protocol v5, connection state recovery
# on) and socket.io 2.x (protocol v4 over Engine.IO v3), each over websocket only, polling
# only, and polling upgraded to websocket: namespaces and auth, refusals, acks both ways
# with binary, acking a server emit, rooms, reconnection after the server closes the
# transport and (v5) recovery of the session with the packets missed meanwhile.
#
# Installs the npm packages (pinned) under target/conformance/socketio-node.
set -euo pipefail
cd "$(dirname "$0")/.."

SOCKET_IO_VERSION=4.8.4
SOCKET_IO_V2_VERSION=2.5.0
root=target/conformance/socketio-node
mkdir -p "$root"

need() { # package version
  [ -f "$root/node_modules/$1/package.json" ] &&
    grep -q "\"version\": \"$2\"" "$root/node_modules/$1/package.json"
}
if ! need socket.io "$SOCKET_IO_VERSION" || ! need socket.io-v2 "$SOCKET_IO_V2_VERSION"; then
  echo "installing socket.io $SOCKET_IO_VERSION and $SOCKET_IO_V2_VERSION into $root"
  npm install --silent --no-audit --no-fund --prefix "$root" \
    "socket.io@$SOCKET_IO_VERSION" "socket.io-v2@npm:socket.io@$SOCKET_IO_V2_VERSION" >/dev/null
fi

cargo build --release --quiet -p sockeye-tokio --example sio_client_interop
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
status=0
for version in v4 v2; do
  port=$(free_port)
  NODE_PATH="$root/node_modules" node conformance/socketio/node-server.js "$port" "$version" >"$root/server-$version.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  protocol=$([ "$version" = v4 ] && echo v5 || echo v4)
  for mode in websocket polling upgrade; do
    timeout 90 target/release/examples/sio_client_interop "http://127.0.0.1:$port" "$protocol" "$mode" || status=1
  done
done
exit $status
