/**
 * The RestMQ bridge's REST surface against the real server (port 0, LMDB), byte for byte as
 * docs/restmq.md describes RestMQ master: /q, the legacy index handler, JSONP, error pages,
 * argument parsing (cyclone's rules) and the TTL mapping.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createFakeClock } from "../../src/util/index.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { form, rawRequest } from "../helpers/raw-http.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const HTML = "text/html; charset=UTF-8";
const SERVER = "cyclone/1.0 (Switchyard RestMQ bridge)";
const page = (code: number, text: string) =>
  `<html><title>${code}: ${text}</title><body>${code}: ${text}</body></html>`;

let server: TestServer;
let rest: string;
let rpc: TestClients;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  assert.ok(server.addresses.restmq, "the restmq listener is on");
  rest = server.addresses.restmq;
  rpc = createTestClients(server.baseUrl, "connect");
});
after(async () => {
  rpc.close();
  await server.close();
});

const post = (path: string, body: string) => rawRequest(rest, "POST", path, form(body));
const get = (path: string) => rawRequest(rest, "GET", path);

describe("restmq REST /q", () => {
  it("restmq - POST /q adds and answers the key, GET /q takes the oldest, byte for byte", async () => {
    const added = await post("/q/bytes", "value=hello");
    assert.equal(
      added.text,
      `HTTP/1.1 200 OK\r\nServer: ${SERVER}\r\nContent-Type: ${HTML}\r\nContent-Length: 9\r\nConnection: close\r\n\r\nbytes:1\r\n`,
    );
    assert.equal((await post("/q/bytes", "msg=world")).body.toString(), "bytes:2\r\n");
    const taken = await get("/q/bytes");
    const body = '{"count": 0, "key": "bytes:1", "value": "hello"}\r\n';
    const etag = `"${createHash("sha1").update(body).digest("hex")}"`;
    assert.equal(
      taken.text,
      `HTTP/1.1 200 OK\r\nServer: ${SERVER}\r\nContent-Type: ${HTML}\r\nEtag: ${etag}\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal((await get("/q/bytes")).body.toString(), '{"count": 0, "key": "bytes:2", "value": "world"}\r\n');
    const empty = await get("/q/bytes");
    assert.equal(empty.status, 204);
    assert.equal(empty.body.length, 0, "204 carries no body (cyclone wrote its page; that was invalid)");
    assert.equal((await get("/q/never-made")).status, 204);
  });

  it("restmq - msg wins over value; empty value is an element; empty msg alone is 503; neither is 400", async () => {
    assert.equal((await post("/q/args", "value=v&msg=m")).body.toString(), "args:1\r\n");
    assert.equal((await post("/q/args", "value=")).body.toString(), "args:2\r\n");
    const noArgs = await post("/q/args", "other=1");
    assert.equal(noArgs.status, 400);
    assert.equal(noArgs.body.toString(), page(400, "Bad Request"));
    assert.equal(noArgs.body.length, 73);
    assert.equal(noArgs.headers["content-type"], HTML);
    assert.equal((await post("/q/args", "msg=")).status, 503);
    assert.equal((await get("/q/args")).body.toString(), '{"count": 0, "key": "args:1", "value": "m"}\r\n');
    assert.equal((await get("/q/args")).body.toString(), '{"count": 0, "key": "args:2", "value": ""}\r\n');
    assert.equal((await get("/q/args")).status, 204, "the 400 and 503 added nothing");
  });

  it("restmq - values that look like numbers come back as numbers (cyclone.redis), others as strings", async () => {
    const values = ["42", "3.14", "007", "-5", "1e5", "+7", ".5", "12abc", "1.50", "1e300.0"];
    for (const v of values) await post("/q/numbers", `value=${encodeURIComponent(v)}`);
    const got: string[] = [];
    for (const _ of values) got.push((await get("/q/numbers")).body.toString().replace(/^.*"value": /, ""));
    assert.deepEqual(got, [
      "42}\r\n",
      "3.14}\r\n",
      "7}\r\n",
      "-5}\r\n",
      '"1e5"}\r\n',
      "7}\r\n",
      "0.5}\r\n",
      '"12abc"}\r\n',
      "1.5}\r\n",
      '"1e300.0"}\r\n',
    ]);
  });

  it("restmq - non-ASCII and </ are escaped as Python's json with cyclone's json_encode", async () => {
    await post("/q/esc", `value=${encodeURIComponent('é "q" \\ </b> 😀\ttab')}`);
    assert.equal(
      (await get("/q/esc")).body.toString(),
      '{"count": 0, "key": "esc:1", "value": "\\u00e9 \\"q\\" \\\\ <\\/b> \\ud83d\\ude00\\ttab"}\r\n',
    );
  });

  it("restmq - the queue name is the URL-decoded rest of the path, slashes included", async () => {
    assert.equal((await post("/q/a%2Fb/c%C3%A9", "value=x")).body.toString(), "a/b/cé:1\r\n");
    assert.equal(
      (await get("/q/a/b/c%C3%A9")).body.toString(),
      '{"count": 0, "key": "a/b/c\\u00e9:1", "value": "x"}\r\n',
    );
  });

  it("restmq - DELETE /q empties the queue: status 1 when it held elements, then 0", async () => {
    await post("/q/purge", "value=1");
    await post("/q/purge", "value=2");
    const first = await rawRequest(rest, "DELETE", "/q/purge");
    assert.equal(first.status, 200);
    assert.equal(first.headers["content-type"], HTML);
    assert.equal(first.body.toString(), '{"queue": "purge", "status": 1}\r\n');
    assert.equal((await rawRequest(rest, "DELETE", "/q/purge")).body.toString(), '{"queue": "purge", "status": 0}\r\n');
    assert.equal((await get("/q/purge")).status, 204);
    assert.equal((await post("/q/purge", "value=3")).body.toString(), "purge:3\r\n", "keys keep counting");
  });

  it("restmq - DELETE /q empties only the queue's subscription: other subscriptions of the topic keep theirs", async () => {
    await post("/q/shared", "value=1");
    await rpc.admin.createSubscription({
      subscription: { name: "shared-audit", topic: "shared", start: { at: { case: "earliest", value: true } } },
    });
    await post("/q/shared", "value=2");
    await post("/q/shared", "value=3");
    assert.equal(
      (await rawRequest(rest, "DELETE", "/q/shared")).body.toString(),
      '{"queue": "shared", "status": 1}\r\n',
    );
    assert.equal((await get("/q/shared")).status, 204);
    const { messages } = await rpc.subscriber.pull({ subscription: "shared-audit", maxMessages: 10 });
    assert.deepEqual(
      messages.map((m) => Buffer.from(m.message?.data ?? []).toString()),
      ["1", "2", "3"],
      "the audit subscription lost nothing",
    );
    assert.equal((await post("/q/shared", "value=4")).body.toString(), "shared:4\r\n");
    assert.equal((await get("/q/shared")).body.toString(), '{"count": 0, "key": "shared:4", "value": 4}\r\n');
  });

  it("restmq - JSONP callback wraps the answer; a callback that is no JavaScript name is 400", async () => {
    assert.equal((await post("/q/jsonp", "value=v&callback=cb")).body.toString(), "cb(jsonp:1);\r\n");
    assert.equal(
      (await get("/q/jsonp?callback=my.cb")).body.toString(),
      'my.cb({"count": 0, "key": "jsonp:1", "value": "v"});\r\n',
    );
    assert.equal(
      (await rawRequest(rest, "DELETE", "/q/jsonp?callback=f")).body.toString(),
      'f({"queue": "jsonp", "status": 0});\r\n',
    );
    const bad = await get("/q/jsonp?callback=%3Cscript%3E");
    assert.equal(bad.status, 400);
  });
});

describe("restmq arguments", () => {
  it("restmq - query and form merge, the last value wins, ; splits pairs, + is a space, values are stripped", async () => {
    assert.equal((await post("/q/form?value=fromquery", "value=frombody")).body.toString(), "form:1\r\n");
    await post("/q/form", "value=a;b");
    await post("/q/form", "value=one+two&value=%20%20last%09");
    await post("/q/form", "value=ctl%01char");
    const values: string[] = [];
    for (let i = 0; i < 4; i++) values.push((await get("/q/form")).body.toString());
    assert.deepEqual(values, [
      '{"count": 0, "key": "form:1", "value": "frombody"}\r\n',
      '{"count": 0, "key": "form:2", "value": "a"}\r\n',
      '{"count": 0, "key": "form:3", "value": "last"}\r\n',
      '{"count": 0, "key": "form:4", "value": "ctl char"}\r\n',
    ]);
  });

  it("restmq - multipart/form-data fields are arguments; a JSON body is not read (400)", async () => {
    const fd = new FormData();
    fd.set("value", "from multipart");
    const r = await fetch(`http://${rest}/q/multi`, { method: "POST", body: fd });
    assert.equal(await r.text(), "multi:1\r\n");
    const json = await rawRequest(rest, "POST", "/q/multi", {
      body: '{"value":"x"}',
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(json.status, 400);
    assert.equal(
      (await get("/q/multi")).body.toString(),
      '{"count": 0, "key": "multi:1", "value": "from multipart"}\r\n',
    );
  });

  it("restmq - an argument that is not UTF-8 is 400; a body over the limit is 413", async () => {
    assert.equal((await post("/q/bad", "value=%ff%fe")).status, 400);
    // Announced and never sent (Expect: 100-continue): the answer cannot race the upload.
    const big = await rawRequest(rest, "POST", "/q/bad", {
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": String(4 * 1024 * 1024),
        Expect: "100-continue",
      },
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.toString(), page(413, "Request Entity Too Large"));
    assert.equal((await get("/q/bad")).status, 204);
  });

  it("restmq - a request of more than 1000 arguments is 400 and adds nothing; a padded value is stripped", async () => {
    const fields = Array.from({ length: 300_000 }, (_, i) => `f${i}=1`).join("&"); // 2.3 MB, under the body limit
    const many = await post("/q/many", `value=x&${fields}`);
    assert.equal(many.status, 400);
    assert.equal(many.body.toString(), page(400, "Bad Request"));
    assert.equal((await post("/q/many?a=1", `value=ok&${fields.split("&").slice(0, 998).join("&")}`)).status, 200);
    // Spaces inside a long value stay; those around it go (in linear time).
    const padded = `a${" ".repeat(300_000)}b`;
    const added = await post("/q/many", `value=${encodeURIComponent(`  ${padded}  `)}`);
    assert.equal(added.body.toString(), "many:2\r\n");
    assert.equal((await get("/q/many")).status, 200);
    const r = await get("/q/many");
    assert.equal(r.body.toString(), `{"count": 0, "key": "many:2", "value": "${padded}"}\r\n`);
  });
});

describe("restmq routes and the index handler", () => {
  it("restmq - unknown paths are 404, other methods 405, as cyclone's pages", async () => {
    const notFound = await get("/nothing/here");
    assert.equal(notFound.status, 404);
    assert.equal(notFound.body.toString(), page(404, "Not Found"));
    const put = await rawRequest(rest, "PUT", "/q/x", form("value=1"));
    assert.equal(put.status, 405);
    assert.equal(put.body.toString(), page(405, "Method Not Allowed"));
    assert.equal((await rawRequest(rest, "HEAD", "/q/x")).status, 405);
    assert.equal((await get("/stats")).status, 404, "/stats without its slash is no route");
  });

  it("restmq - GET /?queue= takes like GET /q but 404 when empty; GET / redirects to the index page", async () => {
    assert.equal((await post("/", "queue=idx&value=first")).body.toString(), "idx:1\r\n");
    assert.equal((await get("/?queue=idx")).body.toString(), '{"count": 0, "key": "idx:1", "value": "first"}\r\n');
    const empty = await get("/?queue=idx");
    assert.equal(empty.status, 404);
    assert.equal(empty.body.toString(), page(404, "Not Found"));
    const home = await get("/");
    assert.equal(home.status, 302);
    assert.equal(home.headers.location, "/static/index.html");
    const index = await get("/static/index.html");
    assert.equal(index.status, 200);
    assert.match(index.body.toString(), /RestMQ/);
    assert.equal((await get("/static/other.html")).status, 404);
  });

  it("restmq - POST / needs queue (400) and, as RestMQ master, value (msg alone is 503)", async () => {
    assert.equal((await post("/", "value=1")).status, 400);
    assert.equal((await post("/", "queue=idx2")).status, 400);
    assert.equal((await post("/", "queue=idx2&msg=1")).status, 503);
    assert.equal((await get("/?queue=idx2")).status, 404);
  });

  it("restmq - the settings topic is no queue: its name is refused (400)", async () => {
    await post("/p/reserved", "policy=roundrobin"); // makes sure the settings topic exists
    for (const [method, target] of [
      ["GET", "/q/switchyard.restmq.settings"],
      ["DELETE", "/q/switchyard.restmq.settings"],
      ["GET", "/c/switchyard.restmq.settings"],
      ["GET", "/?queue=switchyard.restmq.settings"],
    ] as const) {
      assert.equal((await rawRequest(rest, method, target)).status, 400, `${method} ${target}`);
    }
    assert.equal((await post("/q/switchyard.restmq.settings", "value=x")).status, 400);
    assert.equal((await get("/p/reserved")).body.toString(), '{"queue": "reserved", "value": "roundrobin"}\r\n');
  });

  it("restmq - GET /q/ lists the queues as a page", async () => {
    await post("/q/listed", "value=1");
    const list = await get("/q/");
    assert.equal(list.status, 200);
    assert.match(list.body.toString(), /href="\/q\/listed">listed<\/a> \(1\)/);
    assert.doesNotMatch(list.body.toString(), /switchyard\.restmq\.settings/);
  });
});

describe("restmq TTL", () => {
  it("restmq - ttl is the message TTL: ttl=3600 expires in an hour, ttl<=0 at once, a non-integer ttl is 503", async (t) => {
    const clock = createFakeClock();
    const s = await startTestServer({ clock, config: { okqPort: "off" } });
    t.after(() => s.close());
    const address = s.addresses.restmq as string;
    const add = (body: string) => rawRequest(address, "POST", "/q/ttl", form(body));
    const peek = async () => {
      const c = createTestClients(s.baseUrl, "connect");
      try {
        return (await c.subscriber.peek({ subscription: "ttl", maxMessages: 10 })).messages;
      } finally {
        c.close();
      }
    };
    const expiresAt = (m: Awaited<ReturnType<typeof peek>>[number] | undefined) =>
      Number(m?.message?.expireAt?.seconds ?? 0n) * 1000 + Math.floor((m?.message?.expireAt?.nanos ?? 0) / 1e6);
    const t0 = clock.now();
    assert.equal((await add("value=lasting&ttl=3600")).body.toString(), "ttl:1\r\n");
    assert.equal((await add("value=nope&ttl=abc")).status, 503);
    assert.equal((await add("value=gone&ttl=0")).body.toString(), "ttl:2\r\n");
    assert.equal((await add("value=gone too&ttl=-5")).body.toString(), "ttl:3\r\n");
    const stored = await peek();
    assert.deepEqual(
      stored.map((m) => [Buffer.from(m.message?.data ?? []).toString(), expiresAt(m) - t0]),
      [
        ["lasting", 3_600_000],
        ["gone", 1],
        ["gone too", 1],
      ],
      "an hour; the others 1 ms after they were added",
    );
    clock.advance(1);
    assert.equal(
      (await rawRequest(address, "GET", "/q/ttl")).body.toString(),
      '{"count": 0, "key": "ttl:1", "value": "lasting"}\r\n',
    );
    assert.equal((await rawRequest(address, "GET", "/q/ttl")).status, 204, "ttl<=0 expired; ttl=abc never added");
  });
});
