// Generates the cases of conformance/engineio-parser.sh: what the official Engine.IO parsers
// from npm make of a deterministic set of packet lists and malformed inputs.
//
//   node generate.js <node_modules dir> <out.json>
//
// The peers: engine.io-parser (v4: encodePacket, decodePacket, encodePayload, decodePayload)
// and the v3 parser vendored in engine.io (build/parser-v3: the same four with callbacks, and
// the XHR2 binary payload forms). Both are required from <node_modules dir>.
//
// Valid cases: packet lists from a seeded generator (every type; text with ASCII, controls,
// ':' and digits, BMP and astral-plane characters, empty strings; binary messages of 0 to
// 5 000 random bytes) and fixed edge cases. For each list, the official encodings:
//
//   v4         encodePayload(packets)                   (skipped when a text holds \x1e)
//   v3_text    encodePayload(packets, false)            (binary as b4<base64>)
//   v3_binary  encodePayload(packets, true)             (when a packet is binary)
//              encodePayloadAsBinary(packets)           (otherwise)
//   v4 frames  encodePacket(packet, true)               (one per packet: WebSocket frames)
//   v3 frames  encodePacket(packet, true, false)
//
// The official decoders must give each encoding back as its list; where one does not, that
// is reported (as a "reference anomaly") and what it said is added to `decode`, which the
// checker then uses instead of the list.
//
// Other inputs (a fixed list of malformed payloads and frames, byte mutations of the valid
// payloads, random text and binary frames) carry a `malformed` reason and what the official
// decoder made of them. Bytes of an HTTP body reach the decoders as engine.io's polling
// transport hands them over: as UTF-8 text (invalid sequences become U+FFFD, as
// req.setEncoding("utf8") does), except v3 binary (XHR2) bodies, which stay a Buffer.
//
// Output (JSON; bytes as hex; a packet is {type, text} or {type, binary}, type 0-6, or null
// where the official decoder yields a packet of type undefined; a decoded string that is not
// well-formed UTF-16 is {type, utf16: [code units]}):
//
//   { versions,
//     cases: [{id, packets, payloads: {v4?, v3_text, v3_binary}, frames: {v4, v3}}],
//     decode: [{id, form, input, malformed, packets, error}] }
//
// where each frame is [kind ("text" or "binary"), hex], and decode forms are v4, v3_text,
// v3_binary, v4_text_frame, v4_binary_frame, v3_text_frame, v3_binary_frame.
// `decode.packets` are those the official decoder yields before its first error packet (or
// all of them); `error` says whether it yielded one (or threw).
'use strict';

const fs = require('fs');
const path = require('path');

const [modulesDir, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: node generate.js <node_modules dir> <out.json>');
  process.exit(2);
}
const modules = path.resolve(modulesDir);
const v4 = require(path.join(modules, 'engine.io-parser'));
const v3 = require(path.join(modules, 'engine.io/build/parser-v3/index.js'));
const versions = {
  'engine.io-parser': require(path.join(modules, 'engine.io-parser/package.json')).version,
  'engine.io': require(path.join(modules, 'engine.io/package.json')).version,
};

const TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];

// --- seeded PRNG (mulberry32) -------------------------------------------------------------
let seed = 0x5eed_e10 >>> 0;
function rng() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rng() * n);
const pick = (a) => a[int(a.length)];
const chance = (p) => rng() < p;

function randomChar() {
  const r = rng();
  if (r < 0.5) return String.fromCharCode(0x20 + int(95)); // printable ASCII
  if (r < 0.58) return pick(['0', '1', '4', '9', ':', 'b', '=', '/', '+', '"', '\\']);
  if (r < 0.63) return String.fromCharCode(int(32)); // controls, \x1e included
  if (r < 0.68) return String.fromCharCode(0x80 + int(0x780)); // 2-byte UTF-8
  if (r < 0.78) {
    // 3-byte UTF-8, no surrogates
    const c = 0x800 + int(0xf800 - 0x800);
    return String.fromCharCode(c >= 0xd800 ? c + 0x800 : c);
  }
  if (r < 0.9) return String.fromCodePoint(0x10000 + int(0x100000)); // astral plane
  return pick(['😀', '🎉', '𝄞', '\u{10000}', '\u{10ffff}', 'é', 'ß', '漢', '\ufeff', '\ufffd',
    '\u00a0', '\u2028', '\uffff', '\u07ff', '\u0800', '\x7f']);
}

function randomText() {
  const r = rng();
  const n = r < 0.25 ? 0 : r < 0.75 ? 1 + int(16) : r < 0.97 ? 17 + int(184) : 200 + int(1800);
  let s = '';
  for (let i = 0; i < n; i++) s += randomChar();
  return s;
}

function randomBytes() {
  const r = rng();
  const n = r < 0.15 ? 0 : r < 0.75 ? 1 + int(32) : r < 0.97 ? 33 + int(268) : 300 + int(4700);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = chance(0.1) ? pick([0, 1, 4, 9, 0x1e, 0x3a, 0xff]) : int(256);
  return b;
}

function randomPacket() {
  if (chance(0.3)) return { type: 'message', data: randomBytes() };
  const type = chance(0.5) ? 'message' : pick(TYPES);
  const text = randomText();
  // An empty text may be given as "" or left out; the encodings are the same.
  return text === '' && chance(0.5) ? { type } : { type, data: text };
}

function randomList() {
  const n = chance(0.1) ? 9 + int(12) : 1 + int(6);
  const list = [];
  for (let i = 0; i < n; i++) list.push(randomPacket());
  return list;
}

// --- JSON forms ---------------------------------------------------------------------------
const isBinary = (d) => d instanceof ArrayBuffer || ArrayBuffer.isView(d);
const hex = (b) =>
  Buffer.from(b.buffer ? b.buffer : b, b.byteOffset || 0, b.byteLength).toString('hex');

function inputPacket(p) {
  return isBinary(p.data)
    ? { type: TYPES.indexOf(p.type), binary: hex(p.data) }
    : { type: TYPES.indexOf(p.type), text: p.data === undefined ? '' : p.data };
}

// String.prototype.isWellFormed is Node 20+.
const wellFormed = (s) => (s.isWellFormed ? s.isWellFormed() : !/\p{Cs}/u.test(s));

// A packet as an official decoder returned it.
function decodedPacket(p) {
  const type = TYPES.indexOf(p.type);
  const out = { type: type < 0 ? null : type };
  if (p.data === undefined) out.text = '';
  else if (isBinary(p.data)) out.binary = hex(p.data);
  else if (typeof p.data === 'string' && wellFormed(p.data)) out.text = p.data;
  else if (typeof p.data === 'string') {
    out.utf16 = Array.from({ length: p.data.length }, (_, i) => p.data.charCodeAt(i));
  } else throw new Error(`unexpected decoded data ${typeof p.data}`);
  return out;
}

// --- the official decoders, on bytes as a server reads them ---------------------------------
function officialDecode(form, input) {
  const packets = [];
  let error = false;
  const take = (p) => {
    if (error) return;
    if (p.type === 'error') error = true;
    else packets.push(decodedPacket(p));
  };
  try {
    switch (form) {
      case 'v4':
        v4.decodePayload(input.toString('utf8')).forEach(take);
        break;
      case 'v3_text':
        v3.decodePayload(input.toString('utf8'), take);
        break;
      case 'v3_binary':
        v3.decodePayload(input, take);
        break;
      case 'v4_text_frame':
        take(v4.decodePacket(input.toString('utf8')));
        break;
      case 'v4_binary_frame':
        take(v4.decodePacket(input));
        break;
      case 'v3_text_frame':
        take(v3.decodePacket(input.toString('utf8')));
        break;
      case 'v3_binary_frame':
        take(v3.decodePacket(input));
        break;
      default:
        throw new Error(`unknown form ${form}`);
    }
  } catch (e) {
    error = true;
  }
  return { packets, error };
}

// --- the official encoders ----------------------------------------------------------------
// Each takes a callback; all of them call it synchronously. `undefined` when it is not called.
function sync(f) {
  let out;
  f((v) => {
    out = v;
  });
  return out;
}
const asBytes = (v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));

const cases = [];
const decode = [];
let anomalies = 0;

function addDecode(id, form, input, malformed) {
  const { packets, error } = officialDecode(form, input);
  decode.push({ id, form, input: input.toString('hex'), malformed, packets, error });
}

// All forms of one list. The official decoders must give each encoding back as the list;
// where one does not, its result is recorded as a decode case of its own (and reported).
function addList(id, list) {
  const packets = list.map(inputPacket);
  const record = { id, packets, payloads: {}, frames: { v4: [], v3: [] } };
  const check = (form, bytes, expected, sub = '') => {
    const res = officialDecode(form, bytes);
    if (res.error || JSON.stringify(res.packets) !== JSON.stringify(expected)) {
      anomalies++;
      console.error(`reference anomaly: ${id}${sub} ${form} does not decode to its packets`);
      decode.push({ id: id + sub, form, input: bytes.toString('hex'), malformed: null, ...res });
    }
  };
  const hasText1e = list.some((p) => typeof p.data === 'string' && p.data.includes('\x1e'));
  const hasBinary = list.some((p) => isBinary(p.data));

  if (!hasText1e) {
    // The v4 encoder never answers for an empty list.
    const out = sync((cb) => v4.encodePayload(list, cb));
    if (out !== undefined) record.payloads.v4 = asBytes(out);
  }
  record.payloads.v3_text = asBytes(sync((cb) => v3.encodePayload(list, false, cb)));
  const binOut = hasBinary
    ? sync((cb) => v3.encodePayload(list, true, cb))
    : sync((cb) => v3.encodePayloadAsBinary(list, cb));
  if (!Buffer.isBuffer(binOut)) throw new Error(`${id}: v3 binary payload is not a Buffer`);
  record.payloads.v3_binary = binOut;
  for (const [form, bytes] of Object.entries(record.payloads)) {
    // An empty body (v3 binary, empty list) is a decode case of its own: see MALFORMED.
    if (bytes.length) check(form, bytes, packets);
    record.payloads[form] = bytes.toString('hex');
  }

  list.forEach((p, i) => {
    for (const [version, parser, args] of [['v4', v4, [true]], ['v3', v3, [true, false]]]) {
      const out = sync((cb) => parser.encodePacket(p, ...args, cb));
      const frame = typeof out === 'string' ? 'text' : 'binary';
      const bytes = asBytes(out);
      record.frames[version].push([frame, bytes.toString('hex')]);
      check(`${version}_${frame}_frame`, bytes, [packets[i]], `#${i}`);
    }
  });
  cases.push(record);
}

// --- valid cases ----------------------------------------------------------------------------
const fixed = [
  [],
  ...TYPES.map((type) => [{ type }]),
  ...TYPES.map((type) => [{ type, data: '' }]),
  [{ type: 'ping', data: 'probe' }, { type: 'pong', data: 'probe' }, { type: 'upgrade' }],
  [{
    type: 'open',
    data: '{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,' +
      '"maxPayload":1000000}',
  }],
  ['😀', '€', 'é'].map((data) => ({ type: 'message', data })),
  ['4:4', '0:', 'b4AAAA'].map((data) => ({ type: 'message', data })),
  [{ type: 'message', data: '\x1e' }, { type: 'message', data: 'a\x1eb' }],
  [{ type: 'message', data: '\u0000\u00ff\uffff\u{10ffff}' }],
  [{ type: 'message', data: Buffer.alloc(0) }],
  [{ type: 'message', data: Buffer.from([0, 1, 2, 3, 255]) }, { type: 'message', data: 'x' }],
  [{ type: 'message', data: new Uint8Array([1, 2, 3]) }],
  [{ type: 'message', data: new Uint8Array([9, 8, 7, 6]).buffer }],
  // Lengths around decimal digit boundaries (v3 text and XHR2 lengths).
  ...[8, 9, 10, 98, 99, 100, 998, 999, 1000, 9999, 10000].map((n) => [
    { type: 'message', data: 'a'.repeat(n) },
    { type: 'message', data: '😀'.repeat(Math.ceil(n / 2)) },
    { type: 'message', data: Buffer.alloc(n, 0xab) },
  ]),
  [{ type: 'message', data: Buffer.alloc(100000, 7) }],
  [{ type: 'message', data: '漢'.repeat(12000) }, { type: 'message', data: '😀'.repeat(12000) }],
];
fixed.forEach((list, i) => addList(`fixed-${i}`, list));

const CASES = 2500;
// Framing bytes of every form, digits, base64 characters and UTF-8 lead and trail bytes.
const MUTATION_BYTES = [0x00, 0x01, 0x02, 0x04, 0x07, 0x09, 0x0a, 0x1e, 0x20, 0x2b, 0x2d, 0x2e,
  0x2f, 0x30, 0x31, 0x34, 0x37, 0x39, 0x3a, 0x3d, 0x41, 0x5f, 0x62, 0x78, 0x80, 0xbf, 0xc3, 0xed,
  0xf0, 0xff];
function mutate(bytes) {
  const b = Array.from(bytes);
  const at = (extra) => int(b.length + extra);
  const byte = () => (chance(0.8) ? pick(MUTATION_BYTES) : int(256));
  const op = b.length === 0
    ? 'insert'
    : pick(['replace', 'replace', 'insert', 'delete', 'truncate', 'duplicate']);
  let what;
  if (op === 'replace') {
    const i = at(0);
    b[i] = byte();
    what = `byte ${i} replaced`;
  } else if (op === 'insert') {
    const i = at(1);
    b.splice(i, 0, byte());
    what = `byte inserted at ${i}`;
  } else if (op === 'delete') {
    const i = at(0);
    b.splice(i, 1);
    what = `byte ${i} deleted`;
  } else if (op === 'truncate') {
    const i = at(0);
    b.length = i;
    what = `truncated to ${i} bytes`;
  } else {
    const i = at(0);
    const n = 1 + int(Math.min(8, b.length - i));
    b.splice(i, 0, ...b.slice(i, i + n));
    what = `bytes ${i}..${i + n} repeated`;
  }
  return { bytes: Buffer.from(b), what };
}

for (let c = 0; c < CASES; c++) {
  const id = `case-${c}`;
  const list = randomList();
  addList(id, list);
  // Mutations of the smaller payloads (decode checks only).
  if (chance(0.5)) {
    const forms = [];
    const hasText1e = list.some((p) => typeof p.data === 'string' && p.data.includes('\x1e'));
    if (!hasText1e) forms.push(['v4', asBytes(sync((cb) => v4.encodePayload(list, cb)))]);
    forms.push(['v3_text', asBytes(sync((cb) => v3.encodePayload(list, false, cb)))]);
    forms.push(['v3_binary', sync((cb) => v3.encodePayloadAsBinary(list, cb))]);
    for (const [form, bytes] of forms) {
      if (bytes.length > 2000) continue;
      const m = mutate(bytes);
      addDecode(`${id}/mutated`, form, m.bytes, `mutation of a valid payload: ${m.what}`);
    }
  }
}

// Random short text frames: any first character.
for (let c = 0; c < 400; c++) {
  let s = pick(['0', '1', '2', '3', '4', '5', '6', '7', '9', 'b', 'a', ' ', '-', '😀', '']);
  if (s === 'b' && chance(0.5)) s += pick(['0', '2', '4', '6', '7', 'x', '']);
  if (chance(0.4)) {
    const b = randomBytes();
    s += chance(0.7) ? b.toString('base64') : b.toString('base64url');
  } else {
    s += randomText().slice(0, 40).replace(/[\ud800-\udbff]$/, '');
  }
  const bytes = Buffer.from(s, 'utf8');
  addDecode(`text-frame-${c}`, 'v4_text_frame', bytes, `random text frame`);
  addDecode(`text-frame-${c}`, 'v3_text_frame', bytes, `random text frame`);
}
// Random binary frames: any first byte.
for (let c = 0; c < 100; c++) {
  const b = randomBytes();
  if (b.length && chance(0.5)) b[0] = pick([0, 1, 2, 3, 4, 5, 6, 7, 0x34, 0xff]);
  addDecode(`binary-frame-${c}`, 'v4_binary_frame', b, `random binary frame`);
  addDecode(`binary-frame-${c}`, 'v3_binary_frame', b, `random binary frame`);
}

// --- malformed inputs, fixed ----------------------------------------------------------------
const s = (text) => Buffer.from(text, 'utf8');
const raw = (...parts) =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
  );
const MALFORMED = [
  // v4 payloads
  ['v4', s(''), 'empty body'],
  ['v4', s('\x1e'), 'separator only'],
  ['v4', s('\x1e4a'), 'leading separator'],
  ['v4', s('4a\x1e'), 'trailing separator'],
  ['v4', s('4a\x1e\x1e4b'), 'two separators in a row'],
  ['v4', s('7'), 'unknown type 7'],
  ['v4', s('4a\x1e9b'), 'unknown type after a good packet'],
  ['v4', s('x'), 'unknown type x'],
  ['v4', s(' 4'), 'leading space'],
  ['v4', s('b'), 'empty base64'],
  ['v4', s('b!!!!'), 'base64 with invalid characters'],
  ['v4', s('bAQID!'), 'base64 with a trailing invalid character'],
  ['v4', s('bAQ ID'), 'base64 with a space'],
  ['v4', s('bAQ\nID'), 'base64 with a newline'],
  ['v4', s('bAQ=ID'), 'base64 with padding inside'],
  ['v4', s('bAQ==='), 'base64 with too much padding'],
  ['v4', s('b===='), 'base64 of padding only'],
  ['v4', s('bA'), 'base64 of one character'],
  ['v4', s('bAQ'), 'base64 without padding'],
  ['v4', s('bAR=='), 'base64 with trailing bits set'],
  ['v4', s('b-_8'), 'base64url alphabet'],
  ['v4', s('b4AQID'), 'v3-style b4 prefix in v4'],
  ['v4', raw('4', [0xff]), 'invalid UTF-8: 0xff'],
  ['v4', raw('4', [0xc3]), 'invalid UTF-8: truncated sequence at the end'],
  ['v4', raw('4', [0xc3], '\x1e4a'), 'invalid UTF-8: truncated sequence before a separator'],
  ['v4', raw('4', [0xed, 0xa0, 0x80]), 'invalid UTF-8: encoded surrogate'],
  ['v4', raw('4', [0xc0, 0xaf]), 'invalid UTF-8: overlong'],
  ['v4', raw('4a\x1e4', [0xf4, 0x90, 0x80, 0x80]), 'invalid UTF-8: above U+10FFFF, second packet'],
  ['v4', raw([0xff]), 'invalid UTF-8 as the type'],
  // v3 text payloads
  ['v3_text', s(''), 'empty body'],
  ['v3_text', s(':'), 'empty length'],
  ['v3_text', s(':4a'), 'empty length before a packet'],
  ['v3_text', s('1:'), 'length longer than the body'],
  ['v3_text', s('5:4ab'), 'length longer than the packet'],
  ['v3_text', s('2:4ab'), 'length shorter than the packet'],
  ['v3_text', s('2:4a3'), 'trailing digits without a colon'],
  ['v3_text', s('2:4a0:'), 'trailing empty record'],
  ['v3_text', s('0:0:2:4a'), 'empty records first'],
  ['v3_text', s('4a'), 'no length'],
  ['v3_text', s('a:4a'), 'length not a number'],
  ['v3_text', s(' 2:4a'), 'length with a leading space'],
  ['v3_text', s('2 :4a'), 'length with a trailing space'],
  ['v3_text', s('+2:4a'), 'length with a plus sign'],
  ['v3_text', s('-2:4a'), 'negative length'],
  ['v3_text', s('0x2:4a'), 'hexadecimal length'],
  ['v3_text', s('2.0:4a'), 'decimal point in the length'],
  ['v3_text', s('2e0:4a'), 'exponent in the length'],
  ['v3_text', s('02:4a'), 'leading zero in the length'],
  ['v3_text', s('00000000002:4a'), 'eleven-digit length with leading zeros'],
  ['v3_text', s('99999999999:4a'), 'huge length'],
  ['v3_text', s('1:7'), 'unknown type 7'],
  ['v3_text', s('2:4a1:9'), 'unknown type after a good packet'],
  ['v3_text', s('1:b'), 'b without a type'],
  ['v3_text', s('2:b4'), 'b4 with empty base64'],
  ['v3_text', s('6:b2AQID'), 'binary ping (b2)'],
  ['v3_text', s('6:b0AQID'), 'binary open (b0)'],
  ['v3_text', s('6:b9AQID'), 'b with unknown type 9'],
  ['v3_text', s('6:bxAQID'), 'b with type x'],
  ['v3_text', s('6:b4AQI!'), 'base64 with an invalid character'],
  ['v3_text', s('7:b4AQ=ID'), 'base64 with padding inside'],
  ['v3_text', s('7:b4AQ ID'), 'base64 with a space'],
  ['v3_text', s('3:b4A'), 'base64 of one character'],
  ['v3_text', s('2:4😀'), 'length ends inside a surrogate pair'],
  ['v3_text', s('4:4😀'), 'length one past a surrogate pair'],
  ['v3_text', s('1:4😀'), 'length before a surrogate pair'],
  ['v3_text', raw('2:4', [0xff]), 'invalid UTF-8: 0xff'],
  ['v3_text', raw('3:4', [0xc3], 'a'), 'invalid UTF-8: truncated sequence'],
  ['v3_text', raw('2:4', [0xed, 0xa0, 0x80]),
    'invalid UTF-8: encoded surrogate, length of its replacement'],
  ['v3_text', raw('4:4', [0xed, 0xa0, 0x80]),
    'invalid UTF-8: encoded surrogate, length of its bytes'],
  ['v3_text', raw('2:4', [0x80]), 'invalid UTF-8: lone continuation byte'],
  ['v3_text', raw([0xff], ':4'), 'invalid UTF-8 in the length'],
  // v3 binary (XHR2) payloads
  ['v3_binary', raw([]), 'empty body'],
  ['v3_binary', raw([0]), 'marker only'],
  ['v3_binary', raw([0, 2]), 'no 0xff after the length'],
  ['v3_binary', raw([0, 0xff, 0x34]), 'empty length'],
  ['v3_binary', raw([0, 0, 0xff]), 'string record of length 0'],
  ['v3_binary', raw([1, 0, 0xff]), 'binary record of length 0'],
  ['v3_binary', raw([0, 5, 0xff], '4a'), 'string record shorter than its length'],
  ['v3_binary', raw([1, 5, 0xff, 4, 1]), 'binary record shorter than its length'],
  ['v3_binary', raw([0, 2, 0xff], '4a', [0]), 'trailing marker'],
  ['v3_binary', raw([2, 2, 0xff], '4a'), 'record marker 2'],
  ['v3_binary', raw([0xff, 2, 0xff], '4a'), 'record marker 0xff'],
  ['v3_binary', raw([0x30, 2, 0xff], '4a'), 'record marker ASCII 0'],
  ['v3_binary', raw([0, 12, 0xff], '4abcdefghijk'), 'length digit byte 12'],
  ['v3_binary', raw([0, 0x32, 0xff], '4a'), 'length as ASCII digit'],
  ['v3_binary', raw([0, 0, 2, 0xff], '4a'), 'length with a leading zero'],
  ['v3_binary', raw([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xff], '4a'),
    'eleven-digit length with leading zeros'],
  ['v3_binary', raw([0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 0xff], '4a'), 'huge length'],
  ['v3_binary', raw([0, 1, 0xff], '7'), 'string record of unknown type 7'],
  ['v3_binary', raw([0, 2, 0xff], '4a', [0, 1, 0xff], '9'), 'unknown type after a good packet'],
  ['v3_binary', raw([1, 3, 0xff, 9, 1, 2]), 'binary record of unknown type 9'],
  ['v3_binary', raw([1, 3, 0xff, 0x34, 1, 2]), 'binary record of type byte ASCII 4'],
  ['v3_binary', raw([1, 3, 0xff, 2, 1, 2]), 'binary ping record'],
  ['v3_binary', raw([1, 3, 0xff, 0, 1, 2]), 'binary open record'],
  ['v3_binary', raw([0, 2, 0xff], '4', [0xff]), 'invalid UTF-8: 0xff'],
  ['v3_binary', raw([0, 3, 0xff], '4', [0xc3], 'a'), 'invalid UTF-8: truncated sequence'],
  ['v3_binary', raw([0, 4, 0xff], '4', [0xed, 0xa0, 0x80]), 'invalid UTF-8: encoded surrogate'],
  ['v3_binary', raw([0, 3, 0xff], '4', [0xc0, 0xaf]), 'invalid UTF-8: overlong'],
  ['v3_binary', raw([0, 1, 0xff], 'b'), 'string record b without a type'],
  ['v3_binary', raw([0, 6, 0xff], 'b4AQI!'), 'string record with invalid base64'],
  ['v3_binary', raw([0, 6, 0xff], 'b2AQID'), 'string record with a binary ping'],
  // WebSocket text frames
  ...['v4_text_frame', 'v3_text_frame'].flatMap((form) => [
    [form, s(''), 'empty frame'],
    [form, s('7'), 'unknown type 7'],
    [form, s('x4'), 'unknown type x'],
    [form, s('b'), 'b alone'],
    [form, s('b!!!!'), 'base64 with invalid characters'],
    [form, s('bAQ=ID'), 'base64 with padding inside'],
    [form, s('b4AQ=ID'), 'b4 and base64 with padding inside'],
    [form, s('b4'), 'b4 with empty base64'],
    [form, s('b4AQID'), 'b4 and base64'],
    [form, s('b2AQID'), 'b2 and base64'],
    [form, s('b9AQID'), 'b9 and base64'],
    [form, s('4😀'), 'astral text'],
  ]),
  // WebSocket binary frames
  ...['v4_binary_frame', 'v3_binary_frame'].flatMap((form) => [
    [form, raw([]), 'empty frame'],
    [form, raw([4]), 'type byte only'],
    [form, raw([9, 1, 2]), 'type byte 9'],
    [form, raw([0x34, 1, 2]), 'type byte ASCII 4'],
    [form, raw([2, 1, 2]), 'binary ping'],
    [form, raw([6]), 'binary noop, empty'],
  ]),
];
MALFORMED.forEach(([form, input, reason], i) => addDecode(`malformed-${i}`, form, input, reason));

fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify({ versions, cases, decode }));
console.log(
  `engineio parser cases: ${cases.length} packet lists, ${decode.length} other inputs ` +
    `(engine.io-parser ${versions['engine.io-parser']}, ` +
    `engine.io ${versions['engine.io']} parser-v3)` +
    (anomalies ? `, ${anomalies} reference anomalies` : ''),
);
