#!/usr/bin/env bash
# The official Python Socket.IO client against the sio_interop example
# (conformance/socketio/python_client.py): python-socketio's sync Client (protocol v5 over
# python-engineio's Engine.IO v4 client, with requests for polling and websocket-client for
# WebSocket), over websocket only, polling only, and polling upgraded to websocket (the
# client's default): namespaces and auth (one namespace or several over one connection),
# acks both ways, binary (nested, in acks), rooms and broadcasts seen by the right clients
# only, disconnect reasons on both sides, reconnection after the server closes the
# transport. The cases mirror conformance/socketio/interop.js (the official JS clients).
#
# Installs the pinned packages into a venv under target/conformance/socketio-python (once).
# Prints "python/MODE: N passed, M failed" per mode; exits non-zero on any failure.
# SIO_PYTHON_DEBUG=1 turns on the client's logging (python-socketio and python-engineio).
set -euo pipefail
cd "$(dirname "$0")/.."

# python-socketio and its whole dependency tree, pinned.
PACKAGES=(
  python-socketio==5.18.1
  python-engineio==4.15.1
  websocket-client==1.9.2
  requests==2.34.2
  bidict==0.24.1
  simple-websocket==1.1.0
  wsproto==1.3.2
  h11==0.16.0
  urllib3==2.8.0
  idna==3.20
  charset-normalizer==3.5.2
  certifi==2026.10.18
)
target_dir=${CARGO_TARGET_DIR:-target}
root=$target_dir/conformance/socketio-python
venv=$root/venv
mkdir -p "$root"

wanted=$(printf '%s\n' "${PACKAGES[@]}" | tr 'A-Z_' 'a-z-' | sort)
installed=$("$venv/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null |
  tr 'A-Z_' 'a-z-' | grep -Fx -f <(echo "$wanted") | sort || true)
if [ "$installed" != "$wanted" ]; then
  echo "installing python-socketio ${PACKAGES[0]#*==} and its dependencies (pinned) into $venv"
  python3 -m venv "$venv"
  timeout 300 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "${PACKAGES[@]}"
fi

cargo build --release --quiet -p sockeye-tokio --example sio_interop
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$target_dir/release/examples/sio_interop" "127.0.0.1:$port" >"$root/sio_interop.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done

status=0
for mode in websocket polling upgrade; do
  timeout 90 "$venv/bin/python" conformance/socketio/python_client.py \
    "http://127.0.0.1:$port" "$mode" || status=1
done
exit $status
