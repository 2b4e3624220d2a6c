#!/usr/bin/env bash
# Conformance against js-sha512 from npm: the same inputs through js-sha512 and through
# sockeye-sha512 (the js_parity example) must give the same hex, bytes and base64, for all
# four variants, plain and HMAC, one-shot and streamed. Details in js-sha512/compare.js.
#
# Needs Rust, Node and npm. Installs js-sha512 under target/conformance/js-sha512/ (once).
# Prints "js-sha512 conformance: N passed, M failed"; exits non-zero on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.9.0
target_dir=${CARGO_TARGET_DIR:-target}
prefix=$target_dir/conformance/js-sha512
package=$prefix/node_modules/js-sha512

installed=$(node -p 'require(require("path").resolve(process.argv[1])).version' \
    "$package/package.json" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
    echo "installing js-sha512@$version under $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --no-package-lock --loglevel=error \
        "js-sha512@$version" >/dev/null
fi

cargo build --quiet -p sockeye-sha512 --example js_parity
node conformance/js-sha512/compare.js "$package" "$target_dir/debug/examples/js_parity" \
    crates/sha512/tests/vectors
