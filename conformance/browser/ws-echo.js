// Drives headless Chromium (Debian's /usr/bin/chromium, through playwright-core) against
// our ws_echo server: the browser's own WebSocket negotiates permessage-deflate and
// round-trips text and binary messages, small and large.
//
// Usage: node ws-echo.js ws://127.0.0.1:PORT
const { chromium } = require("playwright-core");

const url = process.argv[2];
let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`PASS ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}: ${detail}`);
  }
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage();
    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const queue = [];
      let waiting = null;
      ws.onmessage = (e) => {
        if (waiting) {
          const w = waiting;
          waiting = null;
          w(e.data);
        } else {
          queue.push(e.data);
        }
      };
      const next = () =>
        queue.length
          ? Promise.resolve(queue.shift())
          : new Promise((resolve) => (waiting = resolve));
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("websocket error"));
      });
      const out = { extensions: ws.extensions, echoes: [] };
      const text = "héllo κόσμε 🚀 ".repeat(10);
      const bigText = JSON.stringify(
        Array.from({ length: 5000 }, (_, i) => ({ id: i, room: "lobby", text: "message " + i }))
      );
      const bin = new Uint8Array(70000).map((_, i) => (i * 7) & 0xff);
      for (const [name, msg] of [
        ["text", text],
        ["large JSON text", bigText],
        ["short text", "x"],
        ["binary 70000 bytes", bin.buffer],
        ["empty text", ""],
      ]) {
        ws.send(msg);
        const echo = await next();
        let same;
        if (typeof msg === "string") {
          same = echo === msg;
        } else {
          const a = new Uint8Array(echo);
          const b = new Uint8Array(msg);
          same = a.length === b.length && a.every((v, i) => v === b[i]);
        }
        out.echoes.push([name, same]);
      }
      const closed = new Promise((resolve) => (ws.onclose = (e) => resolve([e.code, e.reason, e.wasClean])));
      ws.close(1000, "browser done");
      out.close = await closed;
      return out;
    }, url);
    check(
      "permessage-deflate negotiated",
      /^permessage-deflate/.test(result.extensions),
      `Sec-WebSocket-Extensions: ${JSON.stringify(result.extensions)}`
    );
    for (const [name, same] of result.echoes) check(`echo ${name}`, same, "echo differs");
    const [code, reason, clean] = result.close;
    check("clean close 1000", code === 1000 && clean, `code ${code} reason ${reason} clean ${clean}`);
  } catch (e) {
    check("browser session", false, e.stack || String(e));
  } finally {
    await browser.close();
  }
  console.log(`browser ws: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
