#!/usr/bin/env bash
# WebSocket interop with real peers, both roles, over ws:// and wss://:
#
#   npm ws client, Python websockets client  ->  ws_interop_server example   (our server)
#   ws_interop_client example  ->  npm ws server, Python websockets server   (our client)
#
# Scenarios (each client prints PASS/FAIL per scenario): non-ASCII text, binary, 1 MiB
# messages sent in fragments both ways, ping/pong payloads, close with code and reason
# from either side, subprotocol negotiation, a handshake refused with 403. The peers'
# scripts are in conformance/ws-interop/. The wss:// runs use a certificate made here
# (openssl, or rcgen through `ws_interop_server --gen-cert` when openssl is missing),
# trusted explicitly by every client.
#
# permessage-deflate parameter sets (RFC 7692 §7.1), over ws://, both directions: the
# parameters of Autobahn's 13.1-13.6 (none; no_context_takeover; windows of 9 and 15; both
# together) for both ends at once, the same for one end only (so a mix-up of the server's
# and the client's parameters shows), and windows of 8 (zlib's 8 -> 9 case). The peer's
# client offers each set to our server; our client offers it to the peer's server
# configured with it (at /deflate?SET). Each run checks the parameters both ends agreed,
# round-trips 48 messages (16 B to 64 KiB, JSON-like text and binary, four rounds on one
# connection, every message compressed), and counts RSV1 on every data message from the
# frame headers on the wire (a tap on our end's transport). Python's zlib cannot compress
# with an 8-bit window (python-websockets#1757), so against websockets only our end uses 8.
#
# Needs Rust, Python 3, Node and npm. Installs ws under target/conformance/ws-interop-node
# and websockets into target/conformance/venv-ws-interop (once).
# Prints "ws interop: N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

WS_VERSION=8.23.0
WEBSOCKETS_VERSION=15.0.1
target_dir=${CARGO_TARGET_DIR:-target}
root=$target_dir/conformance/ws-interop
node_prefix=$target_dir/conformance/ws-interop-node
venv=$target_dir/conformance/venv-ws-interop
here=conformance/ws-interop
mkdir -p "$root"

installed=$(node -p 'require(require("path").resolve(process.argv[1])).version' \
  "$node_prefix/node_modules/ws/package.json" 2>/dev/null || true)
if [ "$installed" != "$WS_VERSION" ]; then
  echo "installing ws@$WS_VERSION under $node_prefix"
  mkdir -p "$node_prefix"
  timeout 300 npm install --prefix "$node_prefix" --no-audit --no-fund --no-package-lock \
    --loglevel=error "ws@$WS_VERSION" >/dev/null
fi
installed=$("$venv/bin/python" -c 'import websockets; print(websockets.__version__)' \
  2>/dev/null || true)
if [ "$installed" != "$WEBSOCKETS_VERSION" ]; then
  echo "installing websockets $WEBSOCKETS_VERSION into $venv"
  python3 -m venv "$venv"
  timeout 300 "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "websockets==$WEBSOCKETS_VERSION"
fi

cargo build --release --quiet -p sockeye-tokio \
  --example ws_interop_server --example ws_interop_client
bin=$target_dir/release/examples
export NODE_PATH=$node_prefix/node_modules

cert=$root/cert.pem
key=$root/key.pem
rm -f "$cert" "$key"
if command -v openssl >/dev/null && [ "${WS_INTEROP_CERTGEN:-openssl}" = openssl ]; then
  # A self-signed end-entity certificate (CA:FALSE, as rustls wants) for the loopback.
  cat >"$root/cert.cnf" <<'CNF'
[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = localhost
[leaf]
subjectAltName = DNS:localhost, IP:127.0.0.1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -config "$root/cert.cnf" -keyout "$key" -out "$cert" 2>"$root/openssl.log"
  echo "certificate for 127.0.0.1 made with $(openssl version | cut -d' ' -f1-2)"
else
  "$bin/ws_interop_server" --gen-cert "$cert" "$key"
  echo "certificate for 127.0.0.1 made with rcgen"
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start NAME COMMAND...: runs a server in the background and waits for its
# "listening PORT" line; sets $port.
start() {
  local name=$1
  shift
  : >"$root/$name.out"
  "$@" >>"$root/$name.out" 2>"$root/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$root/$name.out" || true)
    [ -n "$port" ] && return 0
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "$name did not start; its log:" >&2
  cat "$root/$name.log" >&2
  return 1
}

passed=0
failed=0
# check LABEL COMMAND...: runs a client, prints its lines under LABEL, counts them.
check() {
  local label=$1 out rc
  shift
  echo "-- $label"
  if out=$(timeout 90 "$@" 2>"$root/client.log"); then rc=0; else rc=$?; fi
  [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/   /'
  local p f
  p=$(printf '%s\n' "$out" | grep -c '^PASS ' || true)
  f=$(printf '%s\n' "$out" | grep -c '^FAIL ' || true)
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "   FAIL $label: exited with status $rc"
    sed 's/^/   | /' "$root/client.log" | tail -20
    failed=$((failed + 1))
  fi
}

start sockeye-ws "$bin/ws_interop_server" 127.0.0.1:0
sockeye_ws=$port
start sockeye-wss "$bin/ws_interop_server" 127.0.0.1:0 "$cert" "$key"
sockeye_wss=$port
start node-ws node "$here/ws_server.js"
node_ws=$port
start node-wss node "$here/ws_server.js" "$cert" "$key"
node_wss=$port
start python-ws "$venv/bin/python" "$here/websockets_server.py"
python_ws=$port
start python-wss "$venv/bin/python" "$here/websockets_server.py" "$cert" "$key"
python_wss=$port

echo "== our server (ws_interop_server) with the peers' clients"
check "ws@$WS_VERSION client -> sockeye, ws://" \
  node "$here/ws_client.js" "ws://127.0.0.1:$sockeye_ws"
check "ws@$WS_VERSION client -> sockeye, wss://" \
  node "$here/ws_client.js" "wss://127.0.0.1:$sockeye_wss" "$cert"
check "websockets $WEBSOCKETS_VERSION client -> sockeye, ws://" \
  "$venv/bin/python" "$here/websockets_client.py" "ws://127.0.0.1:$sockeye_ws"
check "websockets $WEBSOCKETS_VERSION client -> sockeye, wss://" \
  "$venv/bin/python" "$here/websockets_client.py" "wss://127.0.0.1:$sockeye_wss" "$cert"

echo "== our client (ws_interop_client) with the peers' servers"
check "sockeye -> ws@$WS_VERSION server, ws://" \
  "$bin/ws_interop_client" "ws://127.0.0.1:$node_ws" --close-reason "bye from ws"
check "sockeye -> ws@$WS_VERSION server, wss://" \
  "$bin/ws_interop_client" "wss://127.0.0.1:$node_wss" --ca "$cert" --close-reason "bye from ws"
check "sockeye -> websockets $WEBSOCKETS_VERSION server, ws://" \
  "$bin/ws_interop_client" "ws://127.0.0.1:$python_ws" --close-reason "bye from websockets"
check "sockeye -> websockets $WEBSOCKETS_VERSION server, wss://" \
  "$bin/ws_interop_client" "wss://127.0.0.1:$python_wss" --ca "$cert" \
  --close-reason "bye from websockets"

# The sets, written as extension parameters; "" is none.
nct="server_no_context_takeover; client_no_context_takeover"
deflate_sets=(
  ""
  "$nct"
  "server_max_window_bits=9; client_max_window_bits=9"
  "server_max_window_bits=15; client_max_window_bits=15"
  "$nct; server_max_window_bits=9; client_max_window_bits=9"
  "$nct; server_max_window_bits=15; client_max_window_bits=15"
  "server_no_context_takeover; server_max_window_bits=9"
  "client_no_context_takeover; client_max_window_bits=9"
)
eight_bits=(
  "server_max_window_bits=8; client_max_window_bits=8"
  "$nct; server_max_window_bits=8; client_max_window_bits=8"
)
echo "== permessage-deflate parameter sets, ws://"
check "ws@$WS_VERSION client -> sockeye" \
  node "$here/ws_client.js" "ws://127.0.0.1:$sockeye_ws" \
  --deflate "${deflate_sets[@]}" "${eight_bits[@]}"
check "websockets $WEBSOCKETS_VERSION client -> sockeye" \
  "$venv/bin/python" "$here/websockets_client.py" "ws://127.0.0.1:$sockeye_ws" \
  --deflate "${deflate_sets[@]}" "server_max_window_bits=8"
check "sockeye -> ws@$WS_VERSION server" \
  "$bin/ws_interop_client" "ws://127.0.0.1:$node_ws" \
  --deflate "${deflate_sets[@]}" "${eight_bits[@]}"
check "sockeye -> websockets $WEBSOCKETS_VERSION server" \
  "$bin/ws_interop_client" "ws://127.0.0.1:$python_ws" \
  --deflate "${deflate_sets[@]}" "client_max_window_bits=8"

echo "ws interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
