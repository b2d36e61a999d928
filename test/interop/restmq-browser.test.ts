/**
 * RestMQ live consumers in a real browser: Debian's Chromium (headless, driven by playwright-core)
 * opens a small page served by this test that consumes one queue over a websocket and over comet
 * (a streaming fetch), while the test publishes over Connect. The page is served at a URL of the
 * RestMQ port (Playwright answers that one request), so its fetch and websocket are same-origin,
 * as RestMQ's own pages were. Part of `npm run test:interop` (scripts/interop-preflight.sh checks
 * that chromium is installed).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BrowserContext, chromium } from "playwright-core";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { bridgeMetric, waitUntil } from "../helpers/restmq-live.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>RestMQ consumers</title></head>
<body>
<script>
  window.received = { ws: [], comet: [], errors: [] };
  const ws = new WebSocket("ws://" + location.host + "/ws/browser");
  ws.onmessage = (e) => window.received.ws.push(e.data);
  ws.onerror = () => window.received.errors.push("websocket error");
  (async () => {
    try {
      const res = await fetch("/c/browser");
      window.received.cometType = res.headers.get("content-type");
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let eol;
        while ((eol = buffered.indexOf("\\r\\n")) >= 0) {
          window.received.comet.push(buffered.slice(0, eol));
          buffered = buffered.slice(eol + 2);
        }
      }
    } catch (e) {
      window.received.errors.push(String(e));
    }
  })();
</script>
</body></html>`;

let server: TestServer;
let rpc: TestClients;
let userDataDir: string;
let browser: BrowserContext;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  rpc = createTestClients(server.baseUrl, "connect");
  userDataDir = await mkdtemp(join(tmpdir(), "restmq-chromium-"));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
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
});
after(async () => {
  await browser?.close();
  rpc?.close();
  await server?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

describe("restmq in a browser", () => {
  it("restmq - Chromium consumes over a websocket and over comet while messages are published over Connect", async () => {
    const origin = `http://${server.addresses.restmq}`;
    // A page whose response came from the test (not from a loopback socket) counts as public for
    // Chromium's Local Network Access checks; the bridge's users load pages from the bridge's host.
    await browser.grantPermissions(["local-network-access"], { origin });
    const page = await browser.newPage();
    await page.route(`${origin}/consumer.html`, (route) => route.fulfill({ body: PAGE, contentType: "text/html" }));
    await page.goto(`${origin}/consumer.html`);
    await waitUntil(
      async () => (await bridgeMetric(server.baseUrl, "switchyard_bridge_connections", 'bridge="restmq"')) === 2,
      "the page's websocket and comet consumers",
      15_000,
    );
    // The page's consumers wait for the queue; the Connect publisher makes it (a topic with its queue).
    await rpc.admin.createTopic({ name: "browser", queue: true });
    const values = ["first", "zweite ü", "</third>"];
    for (const v of values) await rpc.publisher.publish({ topic: "browser", messages: [{ data: Buffer.from(v) }] });
    await page.waitForFunction(
      () => {
        const r = (globalThis as unknown as { received: { ws: string[]; comet: string[] } }).received;
        return r.ws.length >= 3 && r.comet.length >= 3;
      },
      undefined,
      { timeout: 15_000 },
    );
    const received = await page.evaluate(
      () =>
        (globalThis as unknown as { received: { ws: string[]; comet: string[]; errors: string[]; cometType: string } })
          .received,
    );
    const expected = [
      '{"key": "browser:1", "value": "first"}',
      '{"key": "browser:2", "value": "zweite \\u00fc"}',
      '{"key": "browser:3", "value": "<\\/third>"}',
    ];
    assert.deepEqual(received.errors, []);
    assert.deepEqual(received.ws, expected);
    assert.deepEqual(received.comet, expected);
    assert.equal(received.cometType, "text/plain");
    assert.deepEqual(
      received.ws.map((l) => (JSON.parse(l) as { value: string }).value),
      values,
      "the browser decodes what was published",
    );
    await page.close();
  });
});
