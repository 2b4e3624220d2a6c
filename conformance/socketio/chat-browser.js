// A real browser on the chat page: headless Chromium (Debian's package) through
// playwright-core opens the page three times; two join one room, one another; a message
// from the first reaches the second and not the third. Saves a screenshot under target/.
//
// Usage: node chat-browser.js http://127.0.0.1:PORT/ SCREENSHOT.png
const { chromium } = require("playwright-core");

const [url, screenshot] = process.argv.slice(2);
let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
}

async function open(browser, name, room) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log(`page error (${name}): ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.connected === "yes", null, { timeout: 15000 });
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join-button");
  await page.waitForFunction((r) => document.body.dataset.room === r, room, { timeout: 15000 });
  return page;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
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
    const ann = await open(browser, "ann", "kitchen");
    const ben = await open(browser, "ben", "kitchen");
    const cid = await open(browser, "cid", "garden");
    const scriptTag = await ann.evaluate(() => {
      const s = [...document.scripts].find((x) => x.src.includes("socket.io"));
      return { src: s && s.src, integrity: s && s.integrity };
    });
    check("bundle served locally with SRI", scriptTag.src.endsWith("/socket.io/socket.io.min.js") && scriptTag.integrity.startsWith("sha384-"), JSON.stringify(scriptTag));
    await ann.waitForSelector("text=ben joined kitchen", { timeout: 10000 }).then(
      () => check("arrival shown", true),
      () => check("arrival shown", false),
    );
    await ann.fill("#text", "dinner is ready");
    await ann.click("#send-button");
    await ben.waitForSelector("text=ann: dinner is ready", { timeout: 10000 }).then(
      () => check("message reaches the room", true),
      () => check("message reaches the room", false),
    );
    await ann.waitForSelector("text=ann: dinner is ready", { timeout: 10000 }).then(
      () => check("sender sees the message", true),
      () => check("sender sees the message", false),
    );
    await new Promise((r) => setTimeout(r, 300));
    const cidLog = await cid.textContent("#log");
    check("other room sees nothing", !cidLog.includes("dinner"), cidLog);
    await ben.screenshot({ path: screenshot });
    await ben.close();
    await ann.waitForSelector("text=ben left kitchen", { timeout: 10000 }).then(
      () => check("leaving shown", true),
      () => check("leaving shown", false),
    );
  } catch (e) {
    failed++;
    console.log(`FAIL: ${e.message}`);
  } finally {
    await browser.close();
  }
  console.log(`chat browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
