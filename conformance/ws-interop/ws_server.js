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

const wss = new WebSocket.WebSocketServer({
  server,
  maxPayload: 16 * MIB,
  handleProtocols: (protocols) => (protocols.has('sockeye.test') ? 'sockeye.test' : false),
  verifyClient: (info, done) =>
    info.req.url === '/forbidden' ? done(false, 403, 'forbidden by ws\n') : done(true),
});

let lastClose = 'none';

wss.on('connection', (ws) => {
  let weClosed = false;
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString('utf8');
    if (text === 'close-me') {
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
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
