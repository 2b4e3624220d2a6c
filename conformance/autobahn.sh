#!/usr/bin/env bash
# Autobahn TestSuite, both roles, judged strictly (conformance/autobahn/judge.py).
#
# The original wstest is Python 2 only; kosoku (PyPI) drives the same case files on
# Python 3 and writes the same index.json reports. Installed into a venv under target/.
#
#   server: kosoku fuzzingclient  -> ws_echo example        (tests our server)
#   client: kosoku fuzzingserver  <- ws_autobahn_client     (tests our client)
#
# Reports: target/conformance/autobahn/{servers,clients}/index.json
set -euo pipefail
cd "$(dirname "$0")/.."

KOSOKU_VERSION=0.1.0
root=target/conformance/autobahn
venv=target/conformance/venv-autobahn
mkdir -p "$root"

if ! "$venv/bin/kosoku" --help >/dev/null 2>&1; then
  echo "installing kosoku $KOSOKU_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kosoku==$KOSOKU_VERSION"
fi

cargo build --release --quiet -p sockeye-tokio --example ws_echo --example ws_autobahn_client
bin=target/release/examples

# Free ports on loopback, picked by the OS.
read -r server_port client_port < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "nothing listening on port $1" >&2
  return 1
}

rm -rf "$root/servers" "$root/clients"

# A port picked free can be taken by another process before ws_echo binds it: try a few.
for attempt in 1 2 3; do
  "$bin/ws_echo" "127.0.0.1:$server_port" >"$root/ws_echo.log" 2>&1 &
  pids+=($!)
  if wait_port "$server_port"; then break; fi
  [ "$attempt" = 3 ] && exit 1
  server_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
done
echo "== server role: kosoku fuzzingclient against ws_echo on 127.0.0.1:$server_port"
# kosoku's exit code also counts UNIMPLEMENTED; judge.py reads the report instead.
timeout 900 "$venv/bin/kosoku" -m fuzzingclient "127.0.0.1:$server_port" -p 4 \
  -o "$root/servers" >"$root/server-run.log" 2>&1 || true
tail -2 "$root/server-run.log"

echo "== client role: ws_autobahn_client against kosoku fuzzingserver on 127.0.0.1:$client_port"
timeout 900 "$venv/bin/kosoku" -m fuzzingserver "127.0.0.1:$client_port" \
  -o "$root/clients" >"$root/client-run.log" 2>&1 &
kosoku_pid=$!
pids+=($kosoku_pid)
wait_port "$client_port"
timeout 900 "$bin/ws_autobahn_client" "ws://127.0.0.1:$client_port" sockeye \
  >"$root/client.log" 2>&1
wait "$kosoku_pid" || true
tail -2 "$root/client-run.log"

python3 conformance/autobahn/judge.py \
  "server=$root/servers/index.json" "client=$root/clients/index.json"
