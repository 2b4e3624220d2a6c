// The official JavaScript clients against the sio_interop example: socket.io-client 4.x
// (protocol v5 over Engine.IO v4) or 2.x (protocol v4 over Engine.IO v3), in one transport
// mode. Prints "N passed, M failed".
//
// Usage: node interop.js URL CLIENT MODE
//   CLIENT: "v4" (package socket.io-client) or "v2" (package socket.io-client-v2)
//   MODE:   websocket | polling | upgrade
const [url, clientVersion, mode] = process.argv.slice(2);
const v2 = clientVersion === "v2";
const lib = require(v2 ? "socket.io-client-v2" : "socket.io-client");
const ioFn = v2 ? lib : lib.io;

const transports = { websocket: ["websocket"], polling: ["polling"], upgrade: ["polling", "websocket"] }[mode];
const label = `${clientVersion}/${mode}`;
let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${label} ${name}${detail !== undefined ? `: ${JSON.stringify(detail)}` : ""}`);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function open(nsp, auth, extra = {}) {
  const opts = { transports, upgrade: mode === "upgrade", forceNew: true, reconnection: false, ...extra };
  if (auth) {
    if (v2) opts.query = auth;
    else opts.auth = auth;
  }
  const socket = ioFn(url + nsp, opts);
  socket.welcomes = [];
  socket.on("welcome", (w) => socket.welcomes.push(w));
  return socket;
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("connect timeout")), 5000);
    socket.once("connect", () => {
      clearTimeout(t);
      resolve(socket);
    });
    socket.once("connect_error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    socket.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function refusal(socket) {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve("no refusal"), 5000);
    const done = (e) => {
      clearTimeout(t);
      resolve(typeof e === "string" ? e : e && e.message);
    };
    socket.once("connect_error", done);
    socket.once("error", done);
  });
}

const call = (socket, event, ...args) =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve("ack timeout"), 5000);
    socket.emit(event, ...args, (...reply) => {
      clearTimeout(t);
      resolve(reply);
    });
  });

const next = (socket, event) =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve("event timeout"), 5000);
    socket.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });

const toArray = (b) => (b ? Array.from(new Uint8Array(b.buffer ? b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) : b)) : b);

async function main() {
  // Namespaces and auth.
  const a = await connected(open("/"));
  await sleep(50);
  const w = a.welcomes[0];
  check("welcome on /", w && w.nsp === "/" && w.eio === (v2 ? 3 : 4), w);
  check("socket id matches", w && w.sid === a.id, [w && w.sid, a.id]);
  const bad = open("/chat", { token: "wrong" });
  check("wrong auth refused", (await refusal(bad)) === "unauthorized");
  bad.close();
  const chat = await connected(open("/chat", { token: "secret" }));
  await sleep(50);
  check("auth reaches the server", chat.welcomes[0] && chat.welcomes[0].nsp === "/chat" && chat.welcomes[0].auth.token === "secret", chat.welcomes[0]);
  const nope = open("/nope");
  check("unknown namespace refused", (await refusal(nope)) === "Invalid namespace");
  nope.close();

  // Acks both ways, emit-back, binary.
  check("echo ack", eq(await call(a, "echo", 1, "two", { three: [3] }), [1, "two", { three: [3] }]));
  const back = next(a, "emitted-back");
  a.emit("emit-back", "x", { y: null });
  check("emit-back", eq(await back, ["x", { y: null }]));
  const binBack = next(a, "binary-back");
  const reply = await call(a, "binary", Buffer.from([1, 2, 3]), { nested: [Buffer.from([4])] });
  const got = await binBack;
  check("binary event back", Array.isArray(got) && eq(toArray(got[0]), [1, 2, 3]) && eq(toArray(got[1].nested[0]), [4]), got);
  check("binary ack", Array.isArray(reply) && eq(toArray(reply[0]), [1, 2, 3]) && eq(toArray(reply[1].nested[0]), [4]), reply);
  a.on("ask", (payload, cb) => cb({ answer: payload.q * 2, bytes: Buffer.from([9]) }));
  const asked = await call(a, "request-ack", { q: 21 });
  check("server emit with ack answered", Array.isArray(asked) && asked[0].answer === 42 && eq(toArray(asked[0].bytes), [9]), asked);
  const info = (await call(a, "conn-info"))[0];
  check("conn-info", info && info.eio === (v2 ? 3 : 4) && info.rooms.includes(a.id), info);
  if (mode !== "polling") {
    // The upgrade happens in the background; give it a moment.
    await sleep(300);
    const later = (await call(a, "conn-info"))[0];
    check("transport websocket", later.transport === "websocket", later);
  } else {
    check("transport polling", info.transport === "polling", info);
  }

  // Rooms and broadcasts.
  const b = await connected(open("/"));
  const c = await connected(open("/"));
  check("join ack", eq(await call(b, "join", "r1"), ["r1"]));
  const inRoom = next(b, "room-message");
  let cGot = false;
  c.on("room-message", () => (cGot = true));
  check("to-room ack", eq(await call(a, "to-room", "r1", { hi: 1 }), []));
  check("room member receives", eq(await inRoom, ["r1", { hi: 1 }]));
  await sleep(100);
  check("non-member receives nothing", cGot === false);
  check("leave ack", eq(await call(b, "leave", "r1"), ["r1"]));
  const all = [next(a, "broadcast-message"), next(b, "broadcast-message"), next(c, "broadcast-message")];
  let chatGot = false;
  chat.on("broadcast-message", () => (chatGot = true));
  await call(c, "broadcast", "news");
  check("broadcast reaches the namespace", eq(await Promise.all(all), [["news"], ["news"], ["news"]]));
  await sleep(100);
  check("broadcast stays in its namespace", chatGot === false);

  // Disconnect reasons on both sides.
  const bId = b.id;
  const bGone = next(b, "disconnect");
  b.emit("disconnect-me");
  check("server disconnect seen by the client", (await bGone)[0] === "io server disconnect");
  await sleep(100);
  check("server records server namespace disconnect", eq(await call(a, "last-disconnect", bId), ["server namespace disconnect"]));
  const cId = c.id;
  c.disconnect();
  await sleep(200);
  check("server records client namespace disconnect", eq(await call(a, "last-disconnect", cId), ["client namespace disconnect"]));

  // Reconnection after the server closes the transport.
  const r = await connected(open("/", null, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 }));
  const rId = r.id;
  const rGone = next(r, "disconnect");
  const again = new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), 8000);
    r.once("disconnect", () => r.once("connect", () => { clearTimeout(t); resolve(true); }));
  });
  r.emit("close-transport");
  const rReason = await rGone;
  check("transport close seen by the client", rReason[0] === "transport close", rReason);
  check("client reconnects", await again);
  await sleep(100);
  check("server records forced close", eq(await call(a, "last-disconnect", rId), ["forced close"]));
  r.close();

  for (const s of [a, chat]) s.close();
}

const timer = setTimeout(() => {
  console.log(`FAIL ${label}: timed out`);
  process.exit(1);
}, 60000);
main()
  .catch((e) => {
    failed++;
    console.log(`FAIL ${label}: ${e && (e.stack || e.message || e)}`);
  })
  .finally(() => {
    clearTimeout(timer);
    console.log(`${label}: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
