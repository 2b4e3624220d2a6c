'use strict';
// The npm `ws` client against our server (the ws_interop_server example).
//
// Usage: NODE_PATH=<dir with node_modules/ws> node ws_client.js URL [CA.pem] [--deflate SET...]
// Prints one "PASS name" or "FAIL name: why" line per scenario; exits 1 if any failed.
//
// With --deflate, the remaining arguments are permessage-deflate parameter sets written as
// in the extension header ("server_no_context_takeover; client_max_window_bits=9", or ""
// for none), and only those scenarios run. For each set, ws offers it (perMessageDeflate
// with serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits,
// clientMaxWindowBits, threshold 0), checks the answer it got, pipelines 48 messages (16 B
// to 64 KiB, JSON-like text and binary, four rounds) and checks their echoes, then asks
// the server for "deflate-stats": the parameters it agreed and the data messages its
// transport saw, each of which must have had RSV1 (compressed) on the wire.

const fs = require('fs');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const deflateAt = args.indexOf('--deflate');
const deflateSets = deflateAt === -1 ? null : args.splice(deflateAt).slice(1);
const [url, caPath] = args;
const tls = caPath ? { ca: fs.readFileSync(caPath) } : {};
const TEXT = 'héllo wörld — ✓ 🦀 日本語';
const MIB = 1 << 20;
const FRAGMENT = 64 << 10;
const TIMEOUT_MS = 15000;

// Opens a connection; resolves once open. `ws.next()` gives the next message,
// `ws.closed` resolves with the code and reason the close event reports.
// `extra` adds client options; `ws.extensionsAnswer` is the server's
// Sec-WebSocket-Extensions header.
function open(path = '/', protocols = [], extra = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url + path, protocols, {
      ...tls,
      maxPayload: 16 * MIB,
      handshakeTimeout: 5000,
      ...extra,
    });
    ws.on('upgrade', (res) => {
      ws.extensionsAnswer = res.headers['sec-websocket-extensions'];
    });
    const inbox = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const message = { data, isBinary };
      if (waiters.length) waiters.shift().resolve(message);
      else inbox.push(message);
    });
    let closedWith = null;
    ws.closed = new Promise((done) => {
      ws.on('close', (code, reason) => {
        closedWith = new Error(`closed with ${code} ${JSON.stringify(reason.toString())}`);
        for (const w of waiters.splice(0)) w.reject(closedWith);
        done({ code, reason: reason.toString() });
      });
    });
    ws.next = () => {
      if (inbox.length) return Promise.resolve(inbox.shift());
      if (closedWith) return Promise.reject(closedWith);
      return new Promise((res, rej) => waiters.push({ resolve: res, reject: rej }));
    };
    ws.once('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

function expectEqual(what, got, want) {
  if (got !== want) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

async function closeNormally(ws) {
  ws.close(1000);
  const { code } = await ws.closed;
  expectEqual('echoed close code', code, 1000);
}

async function roundTrip(payload, options) {
  const ws = await open();
  ws.send(payload, options);
  const echo = await ws.next();
  await closeNormally(ws);
  return echo;
}

// Sends `data` in 64 KiB fragments (text fragments split characters).
async function fragmented(data, binary) {
  const ws = await open();
  for (let at = 0; at < data.length; at += FRAGMENT) {
    const chunk = data.subarray(at, at + FRAGMENT);
    ws.send(chunk, { binary, fin: at + FRAGMENT >= data.length });
  }
  const echo = await ws.next();
  expectEqual('echo is binary', echo.isBinary, binary);
  expectEqual('echo length', echo.data.length, data.length);
  if (!echo.data.equals(data)) throw new Error('echo differs from what was sent');
  await closeNormally(ws);
}

const scenarios = {
  'subprotocol negotiated': async () => {
    const offered = await open('/', ['chat.v9', 'sockeye.test']);
    expectEqual('protocol', offered.protocol, 'sockeye.test');
    await closeNormally(offered);
    const plain = await open('/');
    expectEqual('protocol without an offer', plain.protocol, '');
    await closeNormally(plain);
  },
  'text round trip (non-ASCII)': async () => {
    const echo = await roundTrip(TEXT);
    expectEqual('is binary', echo.isBinary, false);
    expectEqual('text', echo.data.toString('utf8'), TEXT);
  },
  'binary round trip': async () => {
    const data = Buffer.from([...Array(256).keys()]);
    const echo = await roundTrip(data);
    expectEqual('is binary', echo.isBinary, true);
    if (!echo.data.equals(data)) throw new Error('echo differs');
  },
  'fragmented 1 MiB text sent': () =>
    fragmented(Buffer.from('€'.repeat(Math.floor(MIB / 3)), 'utf8'), false),
  'fragmented 1 MiB binary sent': () =>
    fragmented(Buffer.from(Array.from({ length: MIB }, (_, i) => i % 253)), true),
  'fragmented 1 MiB binary received': async () => {
    const ws = await open();
    ws.send('fragments-please');
    const message = await ws.next();
    const expected = Buffer.from(Array.from({ length: MIB }, (_, i) => i % 251));
    expectEqual('is binary', message.isBinary, true);
    if (!message.data.equals(expected)) throw new Error('content differs from the pattern');
    await closeNormally(ws);
  },
  'ping answered with the same payload': async () => {
    const ws = await open();
    const payload = Buffer.from('ws ping ✓', 'utf8');
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping(payload);
    const got = await pong;
    if (!got.equals(payload)) throw new Error(`pong payload ${got.toString('hex')}`);
    await closeNormally(ws);
  },
  'close from client: code and reason': async () => {
    const reason = 'bye from ws ✓';
    const ws = await open();
    ws.close(4002, reason);
    const { code } = await ws.closed;
    expectEqual('echoed code', code, 4002);
    const expected = `4002 ${reason}`;
    let seen;
    for (let i = 0; i < 20; i++) {
      const query = await open();
      query.send('last-close');
      seen = (await query.next()).data.toString('utf8');
      await closeNormally(query);
      if (seen === expected) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    expectEqual('close the server saw', seen, expected);
  },
  'close from server: code and reason': async () => {
    const ws = await open();
    ws.send('close-me');
    const { code, reason } = await ws.closed;
    expectEqual('code', code, 4001);
    expectEqual('reason', reason, 'bye from sockeye');
  },
  'rejected handshake: 403': () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url + '/forbidden', { ...tls, handshakeTimeout: 5000 });
      ws.on('open', () => reject(new Error('the handshake succeeded')));
      ws.on('error', reject);
      ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          req.destroy();
          try {
            expectEqual('status', res.statusCode, 403);
            if (!body.includes('forbidden')) throw new Error(`body ${JSON.stringify(body)}`);
            resolve();
          } catch (e) {
            reject(e);
          }
        });
      });
    }),
};

// A parameter set: ws client options and the parameters both ends must agree on.
function parseSet(text) {
  const options = { threshold: 0 };
  const expected = {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_max_window_bits: 15,
    client_max_window_bits: 15,
  };
  for (const param of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const [name, value] = param.split('=');
    if (name === 'server_no_context_takeover') options.serverNoContextTakeover = true;
    else if (name === 'client_no_context_takeover') options.clientNoContextTakeover = true;
    else if (name === 'server_max_window_bits') options.serverMaxWindowBits = Number(value);
    else if (name === 'client_max_window_bits') options.clientMaxWindowBits = Number(value);
    else throw new Error(`unknown parameter ${param}`);
    expected[name] = value === undefined ? true : Number(value);
  }
  return { options, expected };
}

// The parameters of a permessage-deflate answer, windows defaulting to 15 (RFC 7692 §7.1).
function agreedParams(answer) {
  if (!answer) return null;
  const params = new Map(
    answer
      .split(',')[0]
      .split(';')
      .slice(1)
      .map((p) => p.trim().split('=')),
  );
  return {
    server_no_context_takeover: params.has('server_no_context_takeover'),
    client_no_context_takeover: params.has('client_no_context_takeover'),
    server_max_window_bits: Number(params.get('server_max_window_bits') || 15),
    client_max_window_bits: Number(params.get('client_max_window_bits') || 15),
  };
}

// xorshift32: deterministic content.
function xorshift(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x % n;
  };
}

const WORDS = ['hello', 'héllo', 'wörld', '✓', 'deflate', 'window', 'context', 'takeover',
  'frame', '日本語', 'server', 'client', 'lobby', 'typing', 'sockeye', 'upstream'];

// Chat-like JSON records, non-ASCII words included, cut to `size` bytes on a character
// boundary and padded with spaces.
function jsonText(seq, size) {
  const below = xorshift(Math.imul(seq, 2654435761) | 1);
  let text = '[';
  for (let id = 0; Buffer.byteLength(text) < size; id++) {
    const words = Array.from({ length: 6 }, () => WORDS[below(16)]).join(' ');
    text += `{"seq":${seq},"id":${id},"user":"user-${below(8)}","room":"room-${below(3)}",` +
      `"text":"${words}"},`;
  }
  const bytes = Buffer.from(text);
  let cut = size;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return Buffer.concat([bytes.subarray(0, cut), Buffer.alloc(size - cut, ' ')]);
}

// Telemetry-like 8-byte records: a little-endian counter and four small readings with
// the high bit set (never UTF-8).
function binaryRecords(seq, size) {
  const below = xorshift(Math.imul(seq, 2246822519) | 1);
  const data = Buffer.alloc(size);
  for (let j = 0; j < size; j++) {
    const k = j % 8;
    data[j] = k < 4 ? (((j >> 3) + seq) >>> (8 * k)) & 0xff : 0x80 | below(16);
  }
  return data;
}

const DEFLATE_SIZES = [16, 64, 256, 1024, 16 << 10, 64 << 10];
const DEFLATE_ROUNDS = 4;

function deflateCorpus() {
  const corpus = [];
  for (let round = 0; round < DEFLATE_ROUNDS; round++) {
    for (const size of DEFLATE_SIZES) {
      const seq = corpus.length;
      corpus.push({ data: jsonText(seq, size), binary: false });
      corpus.push({ data: binaryRecords(seq + 1, size), binary: true });
    }
  }
  return corpus;
}

function kib(n) {
  return `${Math.floor(n / 1024)} KiB`;
}

async function deflateSet(text) {
  const { options, expected } = parseSet(text);
  const want = JSON.stringify(expected);
  const ws = await open('/', [], { perMessageDeflate: options });
  expectEqual('parameters ws agreed', JSON.stringify(agreedParams(ws.extensionsAnswer)), want);
  const corpus = deflateCorpus();
  for (const m of corpus) ws.send(m.data, { binary: m.binary });
  let plain = 0;
  for (const [i, m] of corpus.entries()) {
    const echo = await ws.next();
    if (echo.isBinary !== m.binary || !echo.data.equals(m.data)) {
      throw new Error(`echo ${i} differs (${echo.data.length} bytes, sent ${m.data.length})`);
    }
    plain += m.data.length;
  }
  ws.send('deflate-stats');
  const stats = JSON.parse((await ws.next()).data.toString('utf8'));
  expectEqual('parameters sockeye agreed', JSON.stringify(stats.params), want);
  // The server's tap saw the corpus and the deflate-stats request come in, the echoes go
  // out, each a single frame with RSV1 set.
  const counts = (c) => `${c.messages} messages, ${c.compressed} with RSV1, ${c.frames} frames`;
  const n = corpus.length;
  expectEqual('data messages sockeye received', counts(stats.received), counts({
    messages: n + 1, compressed: n + 1, frames: n + 1 }));
  expectEqual('data messages sockeye sent', counts(stats.sent), counts({
    messages: n, compressed: n, frames: n }));
  await closeNormally(ws);
  const ratio = (wire) => `${kib(plain)} in ${kib(wire)} (${Math.round((wire * 100) / plain)} %)`;
  return `${n} messages each way; on the wire: ws sent ${ratio(stats.received.payload_bytes)}, ` +
    `sockeye sent ${ratio(stats.sent.payload_bytes)}`;
}

function withTimeout(promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

(async () => {
  let failed = 0;
  const run = deflateSets
    ? Object.fromEntries(
        deflateSets.map((set) => [
          `permessage-deflate: ${set || 'no parameters'}`,
          () => deflateSet(set),
        ]),
      )
    : scenarios;
  for (const [name, scenario] of Object.entries(run)) {
    try {
      const detail = await withTimeout(scenario());
      console.log(detail ? `PASS ${name} (${detail})` : `PASS ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
