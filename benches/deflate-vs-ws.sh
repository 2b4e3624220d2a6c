#!/usr/bin/env bash
# permessage-deflate throughput and ratio on the chat corpus: sockeye-ws against the npm ws
# package's perMessageDeflate, in one run (benches/benches/deflate.rs documents what is
# measured; benches/node/ws-deflate.js is the ws side, which the bench runs as a child).
#
# Needs Rust, Node and npm. Installs ws under target/bench/ws-node (once); the corpus and
# the compressed streams go to target/bench/deflate. Extra arguments go to the bench
# binary (criterion's, e.g. a filter). Prints criterion's figures for our side, then the
# interleaved table against ws.
set -euo pipefail
cd "$(dirname "$0")/.."

WS_VERSION=8.23.0
target_dir=${CARGO_TARGET_DIR:-target}
node_prefix=$target_dir/bench/ws-node

installed=$(node -p 'require(require("path").resolve(process.argv[1])).version' \
  "$node_prefix/node_modules/ws/package.json" 2>/dev/null || true)
if [ "$installed" != "$WS_VERSION" ]; then
  echo "installing ws@$WS_VERSION under $node_prefix"
  mkdir -p "$node_prefix"
  # No bufferutil / utf-8-validate: ws's defaults (JS masking, Node's buffer.isUtf8).
  timeout 300 npm install --prefix "$node_prefix" --no-audit --no-fund --no-package-lock \
    --loglevel=error "ws@$WS_VERSION" >/dev/null
fi

SOCKEYE_BENCH_WS_NODE_MODULES=$(cd "$node_prefix/node_modules" && pwd)
mkdir -p "$target_dir/bench/deflate"
SOCKEYE_BENCH_DIR=$(cd "$target_dir/bench/deflate" && pwd)
export SOCKEYE_BENCH_WS_NODE_MODULES SOCKEYE_BENCH_DIR
echo "node $(node --version), ws $WS_VERSION ($SOCKEYE_BENCH_WS_NODE_MODULES)"
exec cargo bench -p sockeye-benches --features deflate --bench deflate -- "$@"
