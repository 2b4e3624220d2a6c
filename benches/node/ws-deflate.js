'use strict';

// npm ws's permessage-deflate, measured on the chat corpus of the `deflate` bench
// (benches/benches/deflate.rs), which spawns this script and interleaves its batches with
// its own. Run through benches/deflate-vs-ws.sh, which installs the pinned ws and sets
// NODE_PATH; the bench documents the protocol and what is measured.
//
//   node benches/node/ws-deflate.js <dir>
//
// <dir> holds chat-corpus.ndjson (one message per line) and sockeye-client-stream.bin
// (the corpus as masked, compressed client frames, from our compressor). This script
// writes ws-client-stream.bin (the same, from ws's compressor), checks that ws inflates
// both streams back to the corpus, prints one `ready key=value ...` line, then answers
// commands on stdin, one per line, one line each on stdout:
//
//   compress <level> <ms>    -> passes <ns> <ns> ...
//   decompress <stream> <ms> -> passes <ns> <ns> ...   (<stream>: ws or sockeye)
//   ratio <level>            -> payload <bytes>
//
// A batch runs whole passes over the corpus until <ms> have elapsed (at least one pass)
// and reports each pass's time in nanoseconds; compress batches at one level all go
// through one long-lived Sender. `ratio` compresses the corpus once from a fresh context
// and reports the summed payload length of the frames.
//
// Why ws's Sender and Receiver: they are public exports of the package (`WebSocket.Sender`,
// `WebSocket.Receiver`, `WebSocket.PerMessageDeflate`) and are exactly what a ws
// WebSocket runs per message: Sender.send queues the message, PerMessageDeflate.compress
// writes it to a zlib DeflateRaw stream and sync-flushes on the libuv threadpool, the
// callback strips the trailer and frames it; Receiver parses and unmasks frames, inflates
// each message (trailer appended, flushed on the threadpool), and validates text as
// UTF-8. Only the socket is replaced, by an in-memory sink, so what is timed is ws's
// whole per-message path without loopback I/O noise, as our side is timed through its
// Sans-IO Connection.

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const WebSocket = require('ws');

const { Sender, Receiver, PerMessageDeflate, extension } = WebSocket;

// zlib's defaults, spelt out, as our side is configured: level 6, memory level 8; the
// window is 15 bits, from the negotiated (absent) max_window_bits parameters.
const LEVEL = 6;
const MEM_LEVEL = 8;
// ws's WebSocketServer default maxPayload.
const MAX_PAYLOAD = 100 * 1024 * 1024;
// What a browser offers; ws accepts it with no parameters (context takeover, 15 bits).
const OFFER = 'permessage-deflate; client_max_window_bits';
const SEND = { binary: false, compress: true, fin: true, mask: false };
const SEND_MASKED = { binary: false, compress: true, fin: true, mask: true };

function main() {
  const dir = process.argv[2];
  if (!dir) {
    throw new Error('usage: node ws-deflate.js <dir>');
  }
  const corpus = readCorpus(path.join(dir, 'chat-corpus.ndjson'));
  const ours = fs.readFileSync(path.join(dir, 'sockeye-client-stream.bin'));
  setup(dir, corpus, ours).then(serve).catch(fail);
}

function fail(err) {
  process.stderr.write(`ws-deflate.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}

function readCorpus(file) {
  const text = fs.readFileSync(file, 'utf8');
  const messages = text.split('\n');
  // The file ends with a newline.
  if (messages.pop() !== '') throw new Error('corpus must end with a newline');
  const bytes = messages.reduce((n, m) => n + Buffer.byteLength(m), 0);
  return { messages, bytes };
}

function serverDeflate(level = LEVEL) {
  const pmd = new PerMessageDeflate({
    isServer: true,
    threshold: 0,
    maxPayload: MAX_PAYLOAD,
    zlibDeflateOptions: { level, memLevel: MEM_LEVEL }
  });
  pmd.accept(extension.parse(OFFER)[PerMessageDeflate.extensionName]);
  return pmd;
}

function clientDeflate() {
  const pmd = new PerMessageDeflate({
    isServer: false,
    threshold: 0,
    maxPayload: MAX_PAYLOAD,
    zlibDeflateOptions: { level: LEVEL, memLevel: MEM_LEVEL }
  });
  // The server's answer to the offer above: no parameters.
  pmd.accept(extension.parse('permessage-deflate')[PerMessageDeflate.extensionName]);
  return pmd;
}

// Stands in for the net.Socket a ws Sender writes to: counts bytes, optionally keeps
// them, and completes each write at once.
class Sink {
  constructor(keep) {
    this.bytes = 0;
    this.chunks = keep ? [] : null;
    this.destroyed = false;
  }

  cork() {}

  uncork() {}

  write(chunk, cb) {
    this.bytes += chunk.length;
    if (this.chunks) this.chunks.push(Buffer.from(chunk));
    if (cb) cb();
    return true;
  }
}

// Sends every message through `sender`, each once the previous one's frame has been
// written, as an application does that sends messages as they come; resolves after the
// last frame.
function sendAll(sender, messages, opts) {
  return new Promise((resolve, reject) => {
    let i = 0;
    const next = (err) => {
      if (err) return reject(err);
      if (i === messages.length) return resolve();
      sender.send(messages[i++], opts, next);
    };
    next();
  });
}

// Feeds `stream` (a Buffer of frames) to a fresh Receiver; resolves with the messages'
// payloads (kept only when asked) once all `count` have come out.
function receiveAll(stream, count, isServer, keep) {
  return new Promise((resolve, reject) => {
    const pmd = isServer ? serverDeflate() : clientDeflate();
    const receiver = new Receiver({
      isServer,
      extensions: { [PerMessageDeflate.extensionName]: pmd },
      maxPayload: MAX_PAYLOAD
    });
    const kept = [];
    let n = 0;
    receiver.on('message', (data, isBinary) => {
      if (isBinary) return reject(new Error('binary message in a text corpus'));
      if (keep) kept.push(data.toString('utf8'));
      if (++n === count) {
        pmd.cleanup();
        resolve(kept);
      }
    });
    receiver.on('error', reject);
    // The Receiver unmasks in place; every pass starts from a fresh copy, as a socket
    // read hands it fresh bytes (our side copies the input into its buffer likewise).
    receiver.write(Buffer.from(stream));
  });
}

// Splits `wire` into frames; returns the summed payload length and the frame count.
function payloadBytes(wire) {
  let pos = 0;
  let payload = 0;
  let frames = 0;
  while (pos < wire.length) {
    const b1 = wire[pos + 1];
    let len = b1 & 0x7f;
    let hlen = 2;
    if (len === 126) {
      len = wire.readUInt16BE(pos + 2);
      hlen = 4;
    } else if (len === 127) {
      len = Number(wire.readBigUInt64BE(pos + 2));
      hlen = 10;
    }
    if (b1 & 0x80) hlen += 4;
    pos += hlen + len;
    payload += len;
    frames++;
  }
  if (pos !== wire.length) throw new Error('truncated frame');
  return { payload, frames };
}

function sameMessages(got, want, what) {
  if (got.length !== want.length) {
    throw new Error(`${what}: ${got.length} messages, want ${want.length}`);
  }
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${what}: message ${i} differs`);
  }
}

// Server → client at `level`, once from a fresh context: the frames, checked by a ws
// client, and their payload length.
async function serverStream(messages, level) {
  const sink = new Sink(true);
  const server = new Sender(sink, {
    [PerMessageDeflate.extensionName]: serverDeflate(level)
  });
  await sendAll(server, messages, SEND);
  const wire = Buffer.concat(sink.chunks);
  const { payload, frames } = payloadBytes(wire);
  if (frames !== messages.length) throw new Error(`${frames} frames`);
  sameMessages(await receiveAll(wire, messages.length, false, true), messages, 'ws → ws');
  return { wire, payload };
}

async function setup(dir, corpus, ours) {
  const { messages } = corpus;
  const { wire, payload } = await serverStream(messages, LEVEL);

  // Client → server: the stream the decompress batches inflate, masked with fixed keys.
  let key = 0;
  const clientSink = new Sink(true);
  const client = new Sender(
    clientSink,
    { [PerMessageDeflate.extensionName]: clientDeflate() },
    (mask) => mask.writeUInt32BE((key = (key + 0x9e3779b9) >>> 0), 0)
  );
  await sendAll(client, messages, SEND_MASKED);
  const wsStream = Buffer.concat(clientSink.chunks);
  fs.writeFileSync(path.join(dir, 'ws-client-stream.bin'), wsStream);
  sameMessages(
    await receiveAll(wsStream, messages.length, true, true),
    messages,
    'ws client → ws server'
  );
  sameMessages(
    await receiveAll(ours, messages.length, true, true),
    messages,
    'sockeye client → ws server'
  );

  const ready = {
    ws: require('ws/package.json').version,
    node: process.versions.node,
    zlib: process.versions.zlib,
    messages: messages.length,
    bytes: corpus.bytes,
    payload,
    wire: wire.length
  };
  const line = Object.entries(ready)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(`ready ${line}\n`);

  // The compress batches at each level go on with one sender: a long-lived connection,
  // context kept.
  const senders = new Map();
  const compress = (level) => {
    if (!senders.has(level)) {
      const ext = { [PerMessageDeflate.extensionName]: serverDeflate(level) };
      senders.set(level, new Sender(new Sink(false), ext));
    }
    const sender = senders.get(level);
    return () => sendAll(sender, messages, SEND);
  };
  return { corpus, compress, streams: { ws: wsStream, sockeye: ours } };
}

function level(arg) {
  const n = Number(arg);
  if (!Number.isInteger(n) || n < 0 || n > 9) throw new Error(`bad level ${arg}`);
  return n;
}

async function batch(pass, ms) {
  const passes = [];
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  do {
    const t0 = process.hrtime.bigint();
    await pass();
    now = process.hrtime.bigint();
    passes.push(now - t0);
  } while (now < until);
  return passes;
}

async function serve(state) {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    const [cmd, ...args] = line.trim().split(/\s+/);
    let passes;
    if (cmd === 'compress') {
      passes = await batch(state.compress(level(args[0])), Number(args[1]));
    } else if (cmd === 'ratio') {
      const { payload } = await serverStream(state.corpus.messages, level(args[0]));
      process.stdout.write(`payload ${payload}\n`);
      continue;
    } else if (cmd === 'decompress') {
      const stream = state.streams[args[0]];
      if (!stream) throw new Error(`no stream ${args[0]}`);
      const n = state.corpus.messages.length;
      passes = await batch(() => receiveAll(stream, n, true, false), Number(args[1]));
    } else if (cmd === 'quit' || cmd === undefined || cmd === '') {
      break;
    } else {
      throw new Error(`unknown command ${line}`);
    }
    process.stdout.write(`passes ${passes.join(' ')}\n`);
  }
  process.exit(0);
}

main();
