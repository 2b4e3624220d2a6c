// The official engine.io-client 6.x against the sio_interop example's Engine.IO layer, in
// one transport mode: the handshake, raw Socket.IO packets as messages both ways, the
// upgrade, and the close. Prints "N passed, M failed".
//
// Usage: node engineio-client.js URL MODE   (MODE: websocket | polling | upgrade)
const { Socket } = require("engine.io-client");

const [url, mode] = process.argv.slice(2);
const transports = { websocket: ["websocket"], polling: ["polling"], upgrade: ["polling", "websocket"] }[mode];
const label = `engine.io-client/${mode}`;
let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${label} ${name}${detail !== undefined ? `: ${JSON.stringify(detail)}` : ""}`);
  }
}

const socket = new Socket(url, { path: "/socket.io/", transports, upgrade: mode === "upgrade" });
let handshake = null;
socket.on("handshake", (data) => (handshake = data));
const messages = [];
let waiter = null;
socket.on("message", (m) => {
  messages.push(m);
  if (waiter) waiter();
});
const nextMessage = () =>
  new Promise((resolve) => {
    const take = () => {
      if (messages.length) {
        waiter = null;
        resolve(messages.shift());
      }
    };
    waiter = take;
    take();
    setTimeout(() => resolve("timeout"), 5000);
  });

const timer = setTimeout(() => {
  console.log(`FAIL ${label}: timed out`);
  process.exit(1);
}, 30000);

socket.on("open", async () => {
  check("handshake", typeof socket.id === "string" && socket.id.length === 20, socket.id);
  const keys = handshake && Object.keys(handshake).sort().join(",");
  check("handshake keys", keys === "maxPayload,pingInterval,pingTimeout,sid,upgrades", handshake);
  const upgrades = (handshake && handshake.upgrades) || [];
  check("upgrades offered", mode === "websocket" ? upgrades.length === 0 : upgrades.includes("websocket"), upgrades);
  // Socket.IO over the raw session: CONNECT, then an event with an ack.
  // Each Engine.IO message carries one Socket.IO packet (`0` CONNECT, `2` EVENT, `3` ACK).
  socket.send("0");
  const connect = await nextMessage();
  check("socket.io CONNECT answer", typeof connect === "string" && connect.startsWith('0{"sid":'), connect);
  const welcome = await nextMessage();
  check("welcome event", typeof welcome === "string" && welcome.startsWith('2["welcome"'), welcome);
  socket.send('21["echo","raw",7]');
  check("ack through the session", (await nextMessage()) === '31["raw",7]');
  if (mode === "upgrade") {
    if (socket.transport.name !== "websocket") await new Promise((r) => socket.once("upgrade", r));
    check("upgraded", socket.transport.name === "websocket", socket.transport.name);
    socket.send('22["echo","after upgrade"]');
    check("messages after the upgrade", (await nextMessage()) === '32["after upgrade"]');
  } else {
    check("transport", socket.transport.name === transports[0], socket.transport.name);
  }
  const closed = new Promise((r) => socket.once("close", (reason) => r(reason)));
  socket.send('2["close-transport"]');
  check("server close seen", (await closed) === "transport close");
  clearTimeout(timer);
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
socket.on("error", (e) => {
  check("no error", false, String(e));
});
