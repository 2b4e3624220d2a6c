#!/usr/bin/env bash
# Conformance of the sockeye-engineio codecs against the official JavaScript parsers:
# engine.io-parser (Engine.IO v4) and the v3 parser vendored in engine.io
# (build/parser-v3), both from npm.
#
# conformance/engineio-parser/generate.js makes a deterministic set of cases with a seeded
# PRNG (random packet lists of every type: text with non-ASCII, astral-plane and control
# characters, empty strings, binary messages; fixed edge cases; malformed payloads and
# frames, fixed and mutated) and records what the official encoders produce (v4 payload, v3
# text payload, v3 XHR2 binary payload, v4 and v3 WebSocket frames) and what the official
# decoders make of every encoding and malformed input. The parser_conformance example
# (crates/engineio/examples/parser_conformance.rs) then encodes every list with
# sockeye-engineio and compares byte for byte, and decodes every input and compares the
# packets. Malformed input that the reference accepts and we refuse, for one of the known
# deliberate reasons, is listed as "strict", not as a failure (see docs/conformance.md).
#
# Needs Rust, Node and npm. Installs both packages under target/conformance/engineio-parser/
# (once). Prints "engineio parser: N passed, M failed, K strict"; exits non-zero on any
# difference. PARSER_CONFORMANCE_VERBOSE=1 lists every strict case.
set -euo pipefail
cd "$(dirname "$0")/.."

PARSER_VERSION=5.2.3
ENGINEIO_VERSION=6.6.12
target_dir=${CARGO_TARGET_DIR:-target}
prefix=$target_dir/conformance/engineio-parser
modules=$prefix/node_modules

version_of() {
    node -p 'require(require("path").resolve(process.argv[1])).version' \
        "$modules/$1/package.json" 2>/dev/null || true
}
if [ "$(version_of engine.io-parser)" != "$PARSER_VERSION" ] ||
    [ "$(version_of engine.io)" != "$ENGINEIO_VERSION" ]; then
    echo "installing engine.io-parser@$PARSER_VERSION and engine.io@$ENGINEIO_VERSION under $prefix"
    mkdir -p "$prefix"
    timeout 300 npm install --prefix "$prefix" --no-audit --no-fund --no-package-lock \
        --loglevel=error "engine.io-parser@$PARSER_VERSION" "engine.io@$ENGINEIO_VERSION" >/dev/null
fi

node conformance/engineio-parser/generate.js "$modules" "$prefix/cases.json"
cargo run --quiet -p sockeye-engineio --example parser_conformance -- "$prefix/cases.json"
