// The chat example against the official socket.io-client 4.x, over each transport mode:
// two clients in one room see each other's messages and arrivals, a third in another room
// sees none of it, and leaving is announced. Prints "N passed, M failed".
//
// Usage: node chat-clients.js http://127.0.0.1:PORT
const { io } = require("socket.io-client");

const url = process.argv[2];
let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  if (ok) {
    passed++;
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
}

function connect(transports) {
  const socket = io(url, { transports, upgrade: transports.length > 1, reconnection: false, forceNew: true });
  socket.seen = [];
  for (const event of ["message", "joined", "left"]) {
    socket.on(event, (m) => socket.seen.push({ event, ...m }));
  }
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const join = (socket, name, room) =>
  new Promise((resolve) => socket.emit("join", { name, room }, resolve));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function scenario(label, transports) {
  const alice = await connect(transports);
  const bob = await connect(transports);
  const carol = await connect(transports);
  const room = `room-${label}`;
  const a = await join(alice, "alice", room);
  check(`${label}: join ack`, a && a.room === room && a.name === "alice", JSON.stringify(a));
  await join(bob, "bob", room);
  await join(carol, "carol", `elsewhere-${label}`);
  await sleep(100);
  check(`${label}: arrival announced`, alice.seen.some((e) => e.event === "joined" && e.name === "bob"));
  alice.emit("message", { text: `hello from ${label}` });
  await sleep(200);
  const got = (s) => s.seen.filter((e) => e.event === "message").map((e) => `${e.name}: ${e.text}`);
  check(`${label}: bob receives`, got(bob).includes(`alice: hello from ${label}`), JSON.stringify(bob.seen));
  check(`${label}: sender sees own message`, got(alice).includes(`alice: hello from ${label}`));
  check(`${label}: other room receives nothing`, carol.seen.length === 0, JSON.stringify(carol.seen));
  check(`${label}: transport`, transports.length > 1 || alice.io.engine.transport.name === transports[0]);
  bob.disconnect();
  await sleep(200);
  check(`${label}: leaving announced`, alice.seen.some((e) => e.event === "left" && e.name === "bob"));
  alice.disconnect();
  carol.disconnect();
}

(async () => {
  const timer = setTimeout(() => {
    console.log("FAIL: timed out");
    process.exit(1);
  }, 60000);
  for (const [label, transports] of [
    ["websocket", ["websocket"]],
    ["polling", ["polling"]],
    ["upgrade", ["polling", "websocket"]],
  ]) {
    try {
      await scenario(label, transports);
    } catch (e) {
      failed++;
      console.log(`FAIL ${label}: ${e && e.message}`);
    }
  }
  clearTimeout(timer);
  console.log(`chat clients: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
