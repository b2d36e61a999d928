/**
 * The GopherMQ bridge on the real server: every scenario of GopherMQ's HTTP API (docs/gophermq.md)
 * byte for byte over real sockets: routes, bind errors, subject checks in GopherMQ's order,
 * fan-out, the overflow arithmetic with one and two subscribers, fetch draining, the 500 for an
 * invalid subject on fetch, async publish, and durability across a restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestClients } from "../helpers/clients.js";
import { postJson, type RawResponse, rawRequest } from "../helpers/http-raw.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const JSON_TYPE = "application/json; charset=UTF-8";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: TestServer;
let base: string;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off", gophermqMaxPending: 10 } });
  base = `http://${server.addresses.gophermq}`;
});
after(() => server.close());

/** Asserts the exact status, Content-Type and body bytes. */
function expectJson(res: RawResponse, status: number, body: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers["content-type"], JSON_TYPE);
  assert.equal(res.text, body);
}

async function subscribe(subject: string): Promise<string> {
  const res = await postJson(`${base}/api/subscribe`, { subject });
  assert.equal(res.status, 200, res.text);
  const id = (JSON.parse(res.text) as { id: string }).id;
  assert.match(id, UUID_V4);
  assert.equal(res.text, `{"id":"${id}","subject":${JSON.stringify(subject)}}\n`);
  return id;
}

const publish = (subject: string, data: string) => postJson(`${base}/api/publish`, { subject, data });
const fetchMessages = (subject: string, id: string) => postJson(`${base}/api/fetch`, { subject, id });

describe("gophermq", () => {
  it("gophermq - GET /ready is 204 with an empty body", async () => {
    const res = await rawRequest(`${base}/ready`, { method: "GET" });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers["content-type"], undefined);
  });

  it("gophermq - unknown paths are 404, wrong methods 405 with Allow, OPTIONS 204, as Echo answers", async () => {
    for (const path of ["/", "/api", "/api/publish/", "/api/%70ublish", "/metrics", "/ready/x"]) {
      expectJson(await rawRequest(`${base}${path}`, { method: "POST" }), 404, '{"message":"Not Found"}\n');
    }
    const get = await rawRequest(`${base}/api/publish`, { method: "GET" });
    expectJson(get, 405, '{"message":"Method Not Allowed"}\n');
    assert.equal(get.headers.allow, "OPTIONS, POST");
    const post = await rawRequest(`${base}/ready`, { method: "POST" });
    expectJson(post, 405, '{"message":"Method Not Allowed"}\n');
    assert.equal(post.headers.allow, "OPTIONS, GET");
    const head = await rawRequest(`${base}/ready`, { method: "HEAD" });
    assert.equal(head.status, 405);
    assert.equal(head.body.length, 0);
    const options = await rawRequest(`${base}/api/fetch`, { method: "OPTIONS" });
    assert.equal(options.status, 204);
    assert.equal(options.headers.allow, "OPTIONS, POST");
    // The query string is not part of the route.
    expectJson(await publish("q-none", "x"), 404, '{"message":"subscriber not found"}\n');
    const withQuery = await rawRequest(`${base}/api/publish?x=1`, {
      headers: { "content-type": "application/json" },
      body: '{"subject":"q-none","data":"x"}',
    });
    expectJson(withQuery, 404, '{"message":"subscriber not found"}\n');
  });

  it("gophermq - subscribe answers a fresh UUID v4 per call, keys in alphabetical order", async () => {
    const a = await subscribe("orders.eu");
    const b = await subscribe("orders.eu");
    assert.notEqual(a, b);
  });

  it("gophermq - invalid subjects are 400 on subscribe and publish", async () => {
    for (const subject of ["", ".a", "a.", "a..b", "a b", "a\tb", "a\rb", "a\nb", "."]) {
      expectJson(await postJson(`${base}/api/subscribe`, { subject }), 400, '{"message":"invalid subject"}\n');
      expectJson(await publish(subject, "x"), 400, '{"message":"invalid subject"}\n');
    }
  });

  it("gophermq - a body that does not bind is 400 request's body is invalid", async () => {
    const invalid = '{"message":"request\'s body is invalid"}\n';
    const cases: Array<{ body: string; type?: string; chunked?: boolean }> = [
      { body: "{", type: "application/json" },
      { body: '{"subject":"a","data":5}', type: "application/json" },
      { body: '{"subject":["a"]}', type: "application/json" },
      { body: '["a"]', type: "application/json" },
      { body: '"a"', type: "application/json" },
      { body: "   ", type: "application/json" },
      { body: '{"subject":"a","data":"x"}', type: "text/plain" },
      { body: '{"subject":"a","data":"x"}' },
      { body: '{"subject":"a","data":"x"}', type: "Application/JSON" },
      { body: "a=1;b=2", type: "application/x-www-form-urlencoded" },
      { body: "", type: "application/json", chunked: true },
    ];
    for (const c of cases) {
      const headers: Record<string, string> = c.type ? { "content-type": c.type } : {};
      const res = await rawRequest(`${base}/api/publish`, { headers, body: c.body, chunked: c.chunked ?? false });
      expectJson(res, 400, invalid);
    }
  });

  it("gophermq - an empty body binds nothing: the subject is empty, so it is invalid", async () => {
    const res = await rawRequest(`${base}/api/publish`, { body: "" });
    expectJson(res, 400, '{"message":"invalid subject"}\n');
    const form = await rawRequest(`${base}/api/subscribe`, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "subject=forms",
    });
    expectJson(form, 400, '{"message":"invalid subject"}\n');
  });

  it("gophermq - binding follows Go: case-insensitive keys, last one wins, null skipped, text after the value ignored", async () => {
    const id = await subscribe("bind.rules");
    const body = '{"SUBJECT":"bind.rules","Data":"first","data":"second","extra":{"a":[1,2]},"id":null} trailing junk';
    const res = await rawRequest(`${base}/api/publish`, { headers: { "content-type": "application/json" }, body });
    expectJson(res, 200, '{"status":"ok"}\n');
    const utf8 = await rawRequest(`${base}/api/publish`, {
      headers: { "content-type": "application/json; charset=utf-8" },
      body: '{"ſubject":"bind.rules","data":"third"}',
    });
    expectJson(utf8, 200, '{"status":"ok"}\n');
    expectJson(
      await fetchMessages("bind.rules", id),
      200,
      `{"data":["second","third"],"id":"${id}","subject":"bind.rules"}\n`,
    );
  });

  it("gophermq - publish before any subscribe is 404 subscriber not found", async () => {
    expectJson(await publish("nobody.listens", "x"), 404, '{"message":"subscriber not found"}\n');
  });

  it("gophermq - a subscriber gets only what is published after it subscribed, in order, drained once", async () => {
    const early = await subscribe("late.joiner");
    expectJson(await publish("late.joiner", "before"), 200, '{"status":"ok"}\n');
    const late = await subscribe("late.joiner");
    for (const d of ["m1", "m2", "m3"]) expectJson(await publish("late.joiner", d), 200, '{"status":"ok"}\n');
    const body = (id: string, data: string[]) =>
      `{"data":${JSON.stringify(data)},"id":"${id}","subject":"late.joiner"}\n`;
    expectJson(await fetchMessages("late.joiner", late), 200, body(late, ["m1", "m2", "m3"]));
    expectJson(await fetchMessages("late.joiner", late), 200, body(late, []));
    expectJson(await fetchMessages("late.joiner", early), 200, body(early, ["before", "m1", "m2", "m3"]));
  });

  it("gophermq - fan-out: every subscriber of the subject gets each message", async () => {
    const ids = [await subscribe("fan"), await subscribe("fan"), await subscribe("fan")];
    expectJson(await publish("fan", "hello"), 200, '{"status":"ok"}\n');
    for (const id of ids) {
      expectJson(await fetchMessages("fan", id), 200, `{"data":["hello"],"id":"${id}","subject":"fan"}\n`);
    }
  });

  it("gophermq - overflow with one subscriber: 11 publishes pass, the 12th is 429, a fetch makes room", async () => {
    const id = await subscribe("over.one");
    for (let i = 1; i <= 11; i++) expectJson(await publish("over.one", `m${i}`), 200, '{"status":"ok"}\n');
    expectJson(await publish("over.one", "m12"), 429, '{"message":"broker overflow"}\n');
    const drained = JSON.parse((await fetchMessages("over.one", id)).text) as { data: string[] };
    assert.deepEqual(
      drained.data,
      Array.from({ length: 11 }, (_, i) => `m${i + 1}`),
    );
    expectJson(await publish("over.one", "again"), 200, '{"status":"ok"}\n');
  });

  it("gophermq - overflow with two subscribers: 6 publishes pass, the 7th is 429", async () => {
    await subscribe("over.two");
    await subscribe("over.two");
    for (let i = 1; i <= 6; i++) expectJson(await publish("over.two", `m${i}`), 200, '{"status":"ok"}\n');
    expectJson(await publish("over.two", "m7"), 429, '{"message":"broker overflow"}\n');
  });

  it("gophermq - concurrent publishes keep the arithmetic: exactly 11 of 20 pass with one subscriber", async () => {
    await subscribe("over.burst");
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => publish("over.burst", `b${i}`)));
    assert.equal(results.filter((r) => r.status === 200).length, 11);
    assert.equal(results.filter((r) => r.status === 429).length, 9);
  });

  it("gophermq - fetch: bad id, an id of another subject, an invalid subject (500)", async () => {
    const id = await subscribe("fetch.a");
    await subscribe("fetch.b");
    expectJson(await fetchMessages("fetch.a", "00000000-0000-4000-8000-000000000000"), 404, '{"message":"bad id"}\n');
    expectJson(await fetchMessages("fetch.a", ""), 404, '{"message":"bad id"}\n');
    expectJson(await fetchMessages("fetch.a", "not a uuid\u0001"), 404, '{"message":"bad id"}\n');
    expectJson(await fetchMessages("fetch.b", id), 404, '{"message":"bad id"}\n');
    expectJson(await fetchMessages("fetch..a", id), 500, '{"message":"server error"}\n');
  });

  it("gophermq - strings are written as Go writes them: HTML and control characters escaped", async () => {
    const id = await subscribe("escape");
    const data = '<a href="x">&</a>\u2028\u0001\n\té';
    expectJson(await publish("escape", data), 200, '{"status":"ok"}\n');
    const expected = '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\u2028\\u0001\\n\\té"';
    expectJson(await fetchMessages("escape", id), 200, `{"data":[${expected}],"id":"${id}","subject":"escape"}\n`);
  });

  it("gophermq - ?pretty indents as Go's encoder with two spaces", async () => {
    const id = await subscribe("pretty");
    await publish("pretty", "p1");
    const res = await rawRequest(`${base}/api/fetch?pretty`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ subject: "pretty", id }),
    });
    expectJson(res, 200, `{\n  "data": [\n    "p1"\n  ],\n  "id": "${id}",\n  "subject": "pretty"\n}\n`);
    const empty = await rawRequest(`${base}/api/fetch?pretty=1`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ subject: "pretty", id }),
    });
    expectJson(empty, 200, `{\n  "data": [],\n  "id": "${id}",\n  "subject": "pretty"\n}\n`);
  });

  it("gophermq - empty data is a message too", async () => {
    const id = await subscribe("empty.data");
    expectJson(await publish("empty.data", ""), 200, '{"status":"ok"}\n');
    expectJson(await fetchMessages("empty.data", id), 200, `{"data":[""],"id":"${id}","subject":"empty.data"}\n`);
  });

  it("gophermq - async publish answers 200 at once and stores the message; failures only 200 too", async () => {
    const id = await subscribe("async.s");
    const ok = await rawRequest(`${base}/api/publish/async`, {
      headers: { "content-type": "application/json" },
      body: '{"subject":"async.s","data":"later"}',
    });
    expectJson(ok, 200, '{"status":"ok"}\n');
    for (const subject of ["async.nobody", "bad..subject"]) {
      expectJson(await postJson(`${base}/api/publish/async`, { subject, data: "x" }), 200, '{"status":"ok"}\n');
    }
    expectJson(
      await rawRequest(`${base}/api/publish/async`, { headers: { "content-type": "application/json" }, body: "{" }),
      400,
      '{"message":"request\'s body is invalid"}\n',
    );
    // The async publish is stored shortly after its answer.
    let data: string[] = [];
    for (let i = 0; i < 100 && data.length === 0; i++) {
      data = (JSON.parse((await fetchMessages("async.s", id)).text) as { data: string[] }).data;
      if (data.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(data, ["later"]);
  });

  it("gophermq - each subscriber is an ephemeral subscription with the configured idle expiry", async () => {
    const id = await subscribe("ephemeral");
    const c = createTestClients(server.baseUrl, "connect");
    try {
      const { subscription } = await c.admin.getSubscription({ name: `gophermq-${id}` });
      assert.equal(subscription?.topic, "ephemeral");
      assert.equal(subscription?.expireAfterIdleMs, BigInt(server.server.config.gophermqIdleExpiryMs));
    } finally {
      c.close();
    }
  });
});
