'use strict';
// An npm `ws` server for our client (the ws_interop_client example) to test.
//
// Usage: NODE_PATH=<dir with node_modules/ws> node ws_server.js [CERT.pem KEY.pem]
// Binds 127.0.0.1 on a free port and prints "listening PORT"; with a certificate and key
// it serves wss://. Behaves like the ws_interop_server example: echoes; chooses
// sockeye.test when offered; refuses /forbidden with 403; on "close-me" closes with 4001
// "bye from ws"; on "fragments-please" sends 1 MiB of binary (byte i is i % 251) in 64 KiB
// fragments; on "ping-me" pings and answers "pong ok" once the pong with the same payload
// arrived; on "last-close" answers "CODE REASON" of the last closing handshake a client
// started with a code other than 1000.
//
// permessage-deflate: off (ws' default) except on /deflate, where the query is a parameter
// set (`/deflate?server_no_context_takeover&client_max_window_bits=9`) that configures
// ws' perMessageDeflate (serverNoContextTakeover, clientNoContextTakeover,
// serverMaxWindowBits, clientMaxWindowBits; threshold 0: every message compressed). There,
// "deflate-params" is answered with the agreed parameters as JSON, read from the
// Sec-WebSocket-Extensions answer ws sent ("null" if it agreed to none).

const fs = require('fs');
const http = require('http');
const https = require('https');
const WebSocket = require('ws');

const [certPath, keyPath] = process.argv.slice(2);
const MIB = 1 << 20;
const FRAGMENT = 64 << 10;

const server = certPath
  ? https.createServer({ cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) })
  : http.createServer();
server.on('request', (req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('websocket only\n');
});

const options = {
  noServer: true,
  maxPayload: 16 * MIB,
  handleProtocols: (protocols) => (protocols.has('sockeye.test') ? 'sockeye.test' : false),
  verifyClient: (info, done) =>
    info.req.url === '/forbidden' ? done(false, 403, 'forbidden by ws\n') : done(true),
};
const wss = new WebSocket.WebSocketServer(options);
wss.on('connection', onConnection);

// One server per parameter set: perMessageDeflate is a server-wide option.
const deflateServers = new Map();
// The Sec-WebSocket-Extensions answer sent to each request.
const answers = new WeakMap();

function deflateServer(query) {
  let server = deflateServers.get(query.toString());
  if (!server) {
    const bits = (name) => (query.has(name) ? Number(query.get(name)) : undefined);
    const perMessageDeflate = { threshold: 0 };
    if (query.has('server_no_context_takeover')) perMessageDeflate.serverNoContextTakeover = true;
    if (query.has('client_no_context_takeover')) perMessageDeflate.clientNoContextTakeover = true;
    if (query.has('server_max_window_bits')) {
      perMessageDeflate.serverMaxWindowBits = bits('server_max_window_bits');
    }
    if (query.has('client_max_window_bits')) {
      perMessageDeflate.clientMaxWindowBits = bits('client_max_window_bits');
    }
    server = new WebSocket.WebSocketServer({ ...options, perMessageDeflate });
    server.on('headers', (headers, req) => {
      const line = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
      answers.set(req, line ? line.slice(line.indexOf(':') + 1).trim() : null);
    });
    server.on('connection', onConnection);
    deflateServers.set(query.toString(), server);
  }
  return server;
}

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const target = url.pathname === '/deflate' ? deflateServer(url.searchParams) : wss;
  target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
});

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

let lastClose = 'none';

function onConnection(ws, req) {
  let weClosed = false;
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString('utf8');
    if (text === 'deflate-params') {
      ws.send(JSON.stringify(agreedParams(answers.get(req))));
    } else if (text === 'close-me') {
      weClosed = true;
      ws.close(4001, 'bye from ws');
    } else if (text === 'fragments-please') {
      const payload = Buffer.from(Array.from({ length: MIB }, (_, i) => i % 251));
      for (let at = 0; at < payload.length; at += FRAGMENT) {
        ws.send(payload.subarray(at, at + FRAGMENT), {
          binary: true,
          fin: at + FRAGMENT >= payload.length,
        });
      }
    } else if (text === 'ping-me') {
      const payload = Buffer.from('ws server ping ✓', 'utf8');
      ws.once('pong', (got) =>
        ws.send(got.equals(payload) ? 'pong ok' : `pong bad: ${got.toString('hex')}`),
      );
      ws.ping(payload);
    } else if (text === 'last-close') {
      ws.send(lastClose);
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
  ws.on('close', (code, reason) => {
    if (!weClosed && code !== 1000) lastClose = `${code} ${reason.toString('utf8')}`;
  });
  ws.on('error', (e) => console.error(`connection error: ${e.message}`));
}

server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
