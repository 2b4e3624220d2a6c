// Compares js-sha512 with sockeye-sha512 on the same inputs: every variant, plain hash and
// HMAC, one-shot and streamed, as hex, byte array and base64. Run by conformance/js-sha512.sh.
//
//   node compare.js <js-sha512 package dir> <js_parity binary> <vector dir>
//
// Inputs: every message of crates/sha512/tests/vectors/*.txt (with its key where the record
// has one), messages and keys from a seeded generator, and Unicode strings, which js-sha512
// encodes as UTF-8 itself. Our side is the js_parity example (see its doc for the line
// format). js-sha512 has no base64 output; its base64 here is Node's encoding of its
// arrayBuffer(). Exits 1 on any difference.
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const [jsDir, oursBin, vectorDir] = process.argv.slice(2);
if (!vectorDir) {
  console.error('usage: node compare.js <js-sha512 dir> <js_parity binary> <vector dir>');
  process.exit(2);
}
const js = require(path.resolve(jsDir));
const VARIANTS = ['sha512', 'sha384', 'sha512_256', 'sha512_224'];
// 0 = one call; others stream in pieces of that size (around the 128-byte block).
const CHUNKS = [0, 1, 7, 64, 127, 128, 129, 1000];

// The `key = value` record format of sockeye_test_support::vectors.
function records(file) {
  const out = [];
  let cur = null;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (line === '') {
      if (cur) out.push(cur);
      cur = null;
      continue;
    }
    const eq = line.indexOf('=');
    cur = cur || {};
    cur[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  if (cur) out.push(cur);
  return out;
}

// The large-message generator of tests/vectors/generate.py.
function lcgBytes(seed, length) {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

function message(rec) {
  if ('msg' in rec) return new Uint8Array(Buffer.from(rec.msg.repeat(Number(rec.repeat || 1)), 'latin1'));
  if ('msg_lcg' in rec) return lcgBytes(Number(rec.msg_lcg), Number(rec.len));
  if ('data_hex' in rec) return new Uint8Array(Buffer.from(rec.data_hex, 'hex'));
  return new Uint8Array(Buffer.from(rec.msg_hex, 'hex'));
}

// A case: variant, key (null, bytes or string), message (bytes or string), chunk size.
const cases = [];
function add(variant, key, msg, chunk) {
  cases.push({ variant, key, msg, chunk });
}

let n = 0;
for (const file of ['fips180-4.txt', 'rfc4231.txt', 'random.txt']) {
  for (const rec of records(path.join(vectorDir, file))) {
    const msg = message(rec);
    const key = rec.key_hex !== undefined ? new Uint8Array(Buffer.from(rec.key_hex, 'hex')) : new Uint8Array(Buffer.from('key'));
    for (const variant of VARIANTS) {
      add(variant, null, msg, CHUNKS[n++ % CHUNKS.length]);
      add(variant, key, msg, CHUNKS[n++ % CHUNKS.length]);
    }
  }
}

// xorshift32, seeded, so every run checks the same inputs.
let seed = 0x2545f491;
function rand() {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
}
function randomBytes(length) {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rand() & 0xff;
  return out;
}
for (let i = 0; i < 200; i++) {
  const msg = randomBytes(rand() % 2048);
  const key = randomBytes(rand() % 300);
  for (const variant of VARIANTS) {
    add(variant, null, msg, CHUNKS[rand() % CHUNKS.length]);
    add(variant, key, msg, CHUNKS[rand() % CHUNKS.length]);
  }
}

const strings = ['', 'abc', 'The quick brown fox jumps over the lazy dog', '中文', 'ü€𐍈😀',
  'naïve café '.repeat(40), '\u0000\u007f\u0080\u07ff\u0800\uffff'];
for (const s of strings) {
  for (const variant of VARIANTS) {
    add(variant, null, s, 0);
    add(variant, s, s, 0);
    add(variant, 'κλειδί', s, 5);
  }
}

function bytesOf(x) {
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from(x);
}

function theirs({ variant, key, msg, chunk }) {
  const fn = js[variant];
  let hash;
  if (chunk === 0) {
    hash = key === null ? fn.create().update(msg) : fn.hmac.create(key).update(msg);
  } else {
    hash = key === null ? fn.create() : fn.hmac.create(key);
    if (typeof msg === 'string') {
      hash.update(msg);
    } else {
      for (let i = 0; i < msg.length; i += chunk) hash.update(msg.subarray(i, i + chunk));
    }
  }
  const copy = hash.clone();
  const hex = hash.hex();
  const array = copy.array();
  const base64 = Buffer.from(copy.clone().arrayBuffer()).toString('base64');
  // The one-call forms must agree with the streamed object too.
  const direct = key === null ? fn.hex(msg) : fn.hmac.hex(key, msg);
  if (chunk === 0 && direct !== hex) throw new Error(`js-sha512 disagrees with itself on ${variant}`);
  return `${hex}\t${base64}\t${array.join(',')}`;
}

const input = cases
  .map((c) => {
    const key = c.key === null ? '-' : bytesOf(c.key).toString('hex');
    // A string is streamed whole on the js side; on ours its UTF-8 bytes use the same chunk.
    return `${c.variant}\t${key}\t${c.chunk}\t${bytesOf(c.msg).toString('hex')}\n`;
  })
  .join('');
const run = spawnSync(oursBin, [], { input, maxBuffer: 1 << 30 });
if (run.error || run.status !== 0) {
  console.error(`js_parity failed: ${run.error || run.stderr}`);
  process.exit(1);
}
const ours = run.stdout.toString('utf8').split('\n');

let passed = 0;
let failed = 0;
cases.forEach((c, i) => {
  const want = theirs(c);
  if (ours[i] === want) {
    passed++;
    return;
  }
  failed++;
  if (failed <= 10) {
    const msgLen = bytesOf(c.msg).length;
    const key = c.key === null ? 'no key' : `key of ${bytesOf(c.key).length} bytes`;
    console.error(`MISMATCH ${c.variant}, ${key}, message of ${msgLen} bytes, chunk ${c.chunk}`);
    console.error(`  js-sha512: ${want}`);
    console.error(`  ours:      ${ours[i]}`);
  }
});
console.log(`js-sha512 conformance: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
