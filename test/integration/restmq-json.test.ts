/**
 * RestMQ's JSON protocol (`POST /queue`, docs/restmq.md) against the real server: the commands,
 * their exact answers and error objects, and what is 400 or 503.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { form, type RawResponse, rawRequest } from "../helpers/raw-http.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
let rest: string;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  rest = server.addresses.restmq as string;
});
after(() => server.close());

const cmd = (doc: unknown, field = "body") =>
  rawRequest(rest, "POST", "/queue", form(`${field}=${encodeURIComponent(JSON.stringify(doc))}`));
const text = (r: RawResponse) => r.body.toString();

describe("restmq JSON protocol", () => {
  it("restmq - add answers queue, value and key as application/json without CRLF", async () => {
    const r = await cmd({ cmd: "add", queue: "jp", value: "first" });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(text(r), '{"queue": "jp", "value": "first", "key": "jp:1"}');
    assert.equal(
      text(await cmd({ cmd: "add", queue: "jp", value: "42" }, "msg")),
      '{"queue": "jp", "value": "42", "key": "jp:2"}',
    );
  });

  it("restmq - get reads the oldest without taking it, with a rising count; take takes it", async () => {
    assert.equal(
      text(await cmd({ cmd: "get", queue: "jp" })),
      '{"queue": "jp", "count": 1, "value": "first", "key": "jp:1"}',
    );
    assert.equal(
      text(await cmd({ cmd: "get", queue: "jp" })),
      '{"queue": "jp", "count": 2, "value": "first", "key": "jp:1"}',
    );
    assert.equal(
      text(await cmd({ cmd: "get", queue: "jp" })),
      '{"queue": "jp", "count": 3, "value": "first", "key": "jp:1"}',
    );
    assert.equal(text(await cmd({ cmd: "take", queue: "jp" })), '{"queue": "jp", "value": "first", "key": "jp:1"}');
    assert.equal(text(await cmd({ cmd: "take", queue: "jp" })), '{"queue": "jp", "value": 42, "key": "jp:2"}');
    assert.equal(text(await cmd({ cmd: "take", queue: "jp" })), '{"error": "empty queue"}');
    assert.equal(text(await cmd({ cmd: "get", queue: "jp" })), '{"error": "empty queue"}');
    assert.equal(text(await cmd({ cmd: "get", queue: "no-such-queue" })), '{"error": "empty queue"}');
  });

  it("restmq - concurrent gets all see the oldest element, each counted; a GET /q racing them takes the oldest", async () => {
    await cmd({ cmd: "add", queue: "jc", value: "first" });
    await cmd({ cmd: "add", queue: "jc", value: "second" });
    const counts: number[] = [];
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all([1, 2, 3].map(() => cmd({ cmd: "get", queue: "jc" })));
      for (const a of answers) {
        const doc = JSON.parse(text(a)) as { key?: string; value?: string; count?: number };
        assert.equal(doc.key, "jc:1", text(a));
        assert.equal(doc.value, "first");
        counts.push(doc.count ?? 0);
      }
    }
    assert.deepEqual(
      counts.sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, i) => i + 1),
      "every get counted once",
    );
    for (let round = 0; round < 10; round++) {
      const q = `jr${round}`;
      await cmd({ cmd: "add", queue: q, value: "first" });
      await cmd({ cmd: "add", queue: q, value: "second" });
      const [got, taken, got2] = await Promise.all([
        cmd({ cmd: "get", queue: q }),
        rawRequest(rest, "GET", `/q/${q}`),
        cmd({ cmd: "get", queue: q }),
      ]);
      assert.equal(text(taken), `{"count": 0, "key": "${q}:1", "value": "first"}\r\n`, "the oldest, never the second");
      for (const g of [got, got2]) assert.doesNotMatch(text(g), /empty queue/);
    }
  });

  it("restmq - del deletes an element by key: true once, then false; the next get sees the next element", async () => {
    await cmd({ cmd: "add", queue: "jd", value: "a" });
    await cmd({ cmd: "add", queue: "jd", value: "b" });
    assert.equal(
      text(await cmd({ cmd: "get", queue: "jd" })),
      '{"queue": "jd", "count": 1, "value": "a", "key": "jd:1"}',
    );
    assert.equal(
      text(await cmd({ cmd: "del", queue: "jd", key: "jd:1" })),
      '{"queue": "jd", "deleted": true, "key": "jd:1"}',
    );
    assert.equal(
      text(await cmd({ cmd: "del", queue: "jd", key: "jd:1" })),
      '{"queue": "jd", "deleted": false, "key": "jd:1"}',
    );
    assert.equal(
      text(await cmd({ cmd: "del", queue: "jd", key: "other:2" })),
      '{"queue": "jd", "deleted": false, "key": "other:2"}',
    );
    assert.equal(
      text(await cmd({ cmd: "get", queue: "jd" })),
      '{"queue": "jd", "count": 1, "value": "b", "key": "jd:2"}',
    );
  });

  it("restmq - missing and mistyped fields answer RestMQ's Python error texts", async () => {
    assert.equal(text(await cmd({ cmd: "add", queue: "je" })), `{"error": "'value'"}`);
    assert.equal(text(await cmd({ cmd: "add", value: "x" })), `{"error": "'queue'"}`);
    assert.equal(
      text(await cmd({ cmd: "add", queue: 5, value: "x" })),
      `{"error": "'int' object has no attribute 'encode'"}`,
    );
    assert.equal(
      text(await cmd({ cmd: "add", queue: "je", value: 1.5 })),
      `{"error": "'float' object has no attribute 'encode'"}`,
    );
    assert.equal(
      text(await cmd({ cmd: "get", queue: null })),
      `{"error": "'NoneType' object has no attribute 'encode'"}`,
    );
    assert.equal(
      text(await cmd({ cmd: "take", queue: ["q"] })),
      `{"error": "'list' object has no attribute 'encode'"}`,
    );
    assert.equal(text(await cmd({ cmd: "del", queue: "je" })), `{"error": "'key'"}`);
    assert.equal(text(await cmd({ cmd: "del", queue: "je", key: 7 })), `{"error": "data must be utf-8"}`);
    assert.equal(text(await cmd({ cmd: "take", queue: "je" })), '{"error": "empty queue"}', "nothing was added");
    assert.equal(
      text(await cmd({ cmd: "take", queue: "switchyard.restmq.settings" })),
      '{"error": "reserved queue name"}',
    );
  });

  it('restmq - an unknown command is {"error": "null resultset"} as text/html', async () => {
    const r = await cmd({ cmd: "frobnicate", queue: "jx" });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/html; charset=UTF-8");
    assert.equal(text(r), '{"error": "null resultset"}');
  });

  it("restmq - no body field, invalid JSON, no or empty cmd, or no object is 400; a non-string cmd 503", async () => {
    const page400 = "<html><title>400: Bad Request</title><body>400: Bad Request</body></html>";
    for (const body of [
      "other=1",
      "body=not-json",
      `body=${encodeURIComponent('{"queue":"x"}')}`,
      `body=${encodeURIComponent('{"cmd":""}')}`,
      "body=%5B1%5D",
    ]) {
      const r = await rawRequest(rest, "POST", "/queue", form(body));
      assert.equal(r.status, 400, body);
      assert.equal(text(r), page400);
    }
    const raw = await rawRequest(rest, "POST", "/queue", {
      body: JSON.stringify({ cmd: "add", queue: "x", value: "y" }),
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(raw.status, 400, "a JSON body is not read");
    assert.equal((await cmd({ cmd: 3, queue: "x" })).status, 503);
  });

  it("restmq - GET /queue redirects to the help page", async () => {
    const r = await rawRequest(rest, "GET", "/queue");
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, "/static/help.html");
    assert.equal((await rawRequest(rest, "GET", "/static/help.html")).status, 200);
  });
});
