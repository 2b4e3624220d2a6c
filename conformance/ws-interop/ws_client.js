'use strict';
// The npm `ws` client against our server (the ws_interop_server example).
//
// Usage: NODE_PATH=<dir with node_modules/ws> node ws_client.js URL [CA.pem]
// Prints one "PASS name" or "FAIL name: why" line per scenario; exits 1 if any failed.

const fs = require('fs');
const WebSocket = require('ws');

const [url, caPath] = process.argv.slice(2);
const tls = caPath ? { ca: fs.readFileSync(caPath) } : {};
const TEXT = 'héllo wörld — ✓ 🦀 日本語';
const MIB = 1 << 20;
const FRAGMENT = 64 << 10;
const TIMEOUT_MS = 15000;

// Opens a connection; resolves once open. `ws.next()` gives the next message,
// `ws.closed` resolves with the code and reason the close event reports.
function open(path = '/', protocols = []) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url + path, protocols, {
      ...tls,
      maxPayload: 16 * MIB,
      handshakeTimeout: 5000,
    });
    const inbox = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const message = { data, isBinary };
      if (waiters.length) waiters.shift().resolve(message);
      else inbox.push(message);
    });
    ws.closed = new Promise((done) => {
      ws.on('close', (code, reason) => {
        for (const w of waiters.splice(0)) w.reject(new Error(`closed with ${code}`));
        done({ code, reason: reason.toString() });
      });
    });
    ws.next = () =>
      inbox.length
        ? Promise.resolve(inbox.shift())
        : new Promise((res, rej) => waiters.push({ resolve: res, reject: rej }));
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

function withTimeout(promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

(async () => {
  let failed = 0;
  for (const [name, run] of Object.entries(scenarios)) {
    try {
      await withTimeout(run());
      console.log(`PASS ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
