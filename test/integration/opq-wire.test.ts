/**
 * The OPQ bridge's wire (README "OPQ bridge"): the answers a producer sees and
 * the exact request a target receives. Real server on port 0, real HTTP producer and target.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { opqForm, opqPush, opqRequest, phpMultipart } from "../helpers/opq-client.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { startWebhookTarget, type WebhookTarget } from "../helpers/webhook-target.js";

const TEXT = "text/plain; charset=utf-8";

describe("opq wire", () => {
  let s: TestServer;
  let target: WebhookTarget;
  let opq: string;
  let c: TestClients;
  before(async () => {
    s = await startTestServer();
    target = await startWebhookTarget();
    opq = `http://${s.addresses.opq}`;
    c = createTestClients(s.baseUrl, "connect");
  });
  after(async () => {
    c.close();
    await s.close();
    await target.close();
  });

  it("opq - push answers 201 success; the target gets the url-encoded form and the producer's headers, exactly", async () => {
    const a = await opqRequest(opq, "/opq/push", {
      headers: [
        ["Content-Type", "application/x-www-form-urlencoded"],
        ["User-Agent", "legacy-producer/1.0"],
        ["Accept", "*/*"],
        ["x-request-id", "abc-1"],
        ["X-Twice", "1"],
        ["X-Twice", "2"],
      ],
      body: `url=${encodeURIComponent(target.url("/exact?comment=nny&user=q18"))}&topic=comment&message=this+is+message+body&tag=a&tag=b&empty=`,
    });
    assert.deepEqual(
      [a.status, a.headers["content-type"], a.headers["content-length"], a.body],
      [201, TEXT, "7", "success"],
    );
    const [got] = await target.waitFor("/exact?comment=nny&user=q18", 1);
    assert.equal(got?.method, "POST");
    // Go's QueryEscape: keys sorted, the repeated field (tag) left out, `/` `:` `?` `=` `&` escaped.
    const body = `empty=&message=this+is+message+body&topic=comment&url=http%3A%2F%2F127.0.0.1%3A${target.port}%2Fexact%3Fcomment%3Dnny%26user%3Dq18`;
    assert.equal(got?.body.toString(), body);
    // Only the producer's single-valued headers, plus what an HTTP client must set (Host, Content-Length, Connection).
    assert.deepEqual(
      { ...got?.headers },
      {
        host: `127.0.0.1:${target.port}`,
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": "legacy-producer/1.0",
        accept: "*/*",
        "x-request-id": "abc-1",
        "content-length": String(Buffer.byteLength(body)),
        connection: "keep-alive",
      },
    );
    assert.deepEqual(Object.keys(got?.headers ?? {}).length, 7);
  });

  it("opq - query parameters are merged into the form (a push with an empty body works)", async () => {
    const url = target.url("/query");
    const a = await opqRequest(opq, `/opq/push?topic=q&url=${encodeURIComponent(url)}&message=from+query`);
    assert.deepEqual([a.status, a.body], [201, "success"]);
    const [got] = await target.waitFor("/query", 1);
    assert.equal(got?.body.toString(), `message=from+query&topic=q&url=${encodeURIComponent(url)}`);
  });

  it("opq - a PHP-style multipart producer (OPQ README): fields arrive url-encoded, as application/x-www-form-urlencoded", async () => {
    const url = target.url("/Comment/addComment?comment=nny&user=q18");
    const { contentType, body } = phpMultipart([
      ["url", url],
      ["topic", "php"],
      ["message", "this is message body, ünïcödé"],
    ]);
    const a = await opqRequest(opq, "/opq/push", {
      headers: [
        ["Content-Type", contentType],
        ["Accept", "*/*"],
        ["Expect", "100-continue"],
      ],
      body,
    });
    assert.deepEqual([a.status, a.body], [201, "success"]);
    const [got] = await target.waitFor("/Comment/addComment?comment=nny&user=q18", 1);
    assert.equal(
      got?.body.toString(),
      `message=this+is+message+body%2C+%C3%BCn%C3%AFc%C3%B6d%C3%A9&topic=php&url=${encodeURIComponent(url)}`,
    );
    // OPQ passed the multipart Content-Type on with a url-encoded body; the target now gets the body's real type.
    assert.equal(got?.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(got?.headers.expect, undefined);
    assert.equal(got?.headers.accept, "*/*");
  });

  it("opq - push refusals: OPQ's 400 BadRequest with the sorted url-encoded form, in OPQ's check order", async () => {
    const cases: [[string, string][], string][] = [
      [
        [
          ["message", "hi"],
          ["url", "http://x"],
        ],
        "BadRequest: message=hi&url=http%3A%2F%2Fx",
      ],
      [
        [
          ["topic", "t"],
          ["message", "a b"],
        ],
        "BadRequest: message=a+b&topic=t",
      ],
      [
        [
          ["url", "http://x"],
          ["topic", "t"],
          ["recorder", "two"],
        ],
        "BadRequest: recorder=two&topic=t&url=http%3A%2F%2Fx",
      ],
      // OPQ dropped the connection for a url Go cannot parse; the bridge answers 400 instead.
      [
        [
          ["topic", "t"],
          ["url", "http://[::1"],
        ],
        "BadRequest: topic=t&url=http%3A%2F%2F%5B%3A%3A1",
      ],
      // ... and for a url it could never deliver to (OPQ accepted it and blocked the topic forever).
      [
        [
          ["topic", "t"],
          ["url", ""],
        ],
        "BadRequest: topic=t&url=",
      ],
      [
        [
          ["topic", "t"],
          ["url", "/relative"],
        ],
        "BadRequest: topic=t&url=%2Frelative",
      ],
      [
        [
          ["topic", "t"],
          ["url", "ftp://x/"],
        ],
        "BadRequest: topic=t&url=ftp%3A%2F%2Fx%2F",
      ],
      [[], "BadRequest: "],
    ];
    for (const [fields, expected] of cases) {
      const a = await opqForm(opq, "/opq/push", fields);
      assert.deepEqual([a.status, a.headers["content-type"], a.body], [400, TEXT, expected]);
    }
    const recorderOk = await opqForm(opq, "/opq/push", [
      ["topic", "rec"],
      ["url", target.url("/rec")],
      ["recorder", "+3"],
    ]);
    assert.equal(recorderOk.status, 201, "a recorder Go's Atoi reads is accepted (and ignored)");
  });

  it("opq - Switchyard's own refusals: invalid UTF-8, a bad topic name, a form over 10 MiB", async () => {
    const bad = await opqRequest(opq, "/opq/push", {
      headers: [["Content-Type", "application/x-www-form-urlencoded"]],
      body: `topic=t&url=${encodeURIComponent("http://x/")}&message=%FF`,
    });
    assert.deepEqual([bad.status, bad.body], [400, 'BadRequest: form field "message" is not valid UTF-8']);
    const name = await opqForm(opq, "/opq/push", [
      ["topic", "a\u0001b"],
      ["url", "http://x/"],
    ]);
    assert.equal(name.status, 400);
    assert.match(name.body, /^BadRequest: topic name contains a control character/);
    const big = await opqRequest(opq, "/opq/push", {
      headers: [["Content-Type", "application/x-www-form-urlencoded"]],
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x61),
    }).catch((e: Error) => ({ status: 0, body: e.message, headers: {} }));
    assert.deepEqual([big.status, big.body], [413, "RequestEntityTooLarge: the form is over 10485760 bytes"]);
  });

  it("opq - other paths are 404 page not found; other methods on OPQ's paths 405 with no body", async () => {
    for (const path of ["/", "/opq", "/opq/push/", "/opq/other", "/haha"]) {
      const a = await opqRequest(opq, path);
      assert.deepEqual(
        [a.status, a.headers["content-type"], a.headers["x-content-type-options"], a.body],
        [404, TEXT, "nosniff", "404 page not found\n"],
      );
    }
    for (const [method, path] of [
      ["GET", "/opq/push"],
      ["PUT", "/opq/replay"],
      ["GET", "/opq/replay?topic=t&cmd=0"],
    ] as const) {
      const a = await opqRequest(opq, path, { method });
      assert.deepEqual([a.status, a.headers["content-length"], a.body], [405, "0", ""]);
    }
  });

  it("opq - replay refusals: 400 BadRequest (plain) for a missing topic or cmd or a cmd that is not an integer; 500 for an unknown topic", async () => {
    for (const fields of [
      [["cmd", "0"]],
      [["topic", "t"]],
      [
        ["topic", "t"],
        ["cmd", "1.5"],
      ],
      [
        ["topic", "t"],
        ["cmd", " 1"],
      ],
      [
        ["topic", "t"],
        ["cmd", "99999999999999999999"],
      ],
    ] as [string, string][][]) {
      const a = await opqForm(opq, "/opq/replay", fields);
      assert.deepEqual(
        [a.status, a.headers["content-type"], a.body],
        [400, TEXT, "BadRequest"],
        JSON.stringify(fields),
      );
    }
    for (const topic of ["never-pushed", "", "a\u0001b"]) {
      const a = await opqForm(opq, "/opq/replay", [
        ["topic", topic],
        ["cmd", "0"],
      ]);
      assert.deepEqual([a.status, a.headers["content-type"], a.body], [500, TEXT, "delivery service is not ready"]);
    }
    // A topic that exists but is not an OPQ topic is not ready either.
    await c.admin.createTopic({ name: "plain", queue: true });
    const plain = await opqForm(opq, "/opq/replay", [
      ["topic", "plain"],
      ["cmd", "0"],
    ]);
    assert.deepEqual([plain.status, plain.body], [500, "delivery service is not ready"]);
  });

  it("opq - a topic whose name is taken by a non-OPQ subscription is refused with OPQ's 500 InternalServerError", async () => {
    await c.admin.createTopic({ name: "taken", queue: true });
    const a = await opqForm(opq, "/opq/push", [
      ["topic", "taken"],
      ["url", target.url("/taken")],
    ]);
    assert.deepEqual([a.status, a.body], [500, "InternalServerError"]);
  });

  it("opq - an OPQ topic is a Switchyard topic: its messages read over Connect with the form and headers as attributes", async () => {
    await opqPush(opq, "shared", target.url("/shared"), [["message", "hello"]]);
    await target.waitFor("/shared", 1);
    const sub = (await c.admin.getSubscription({ name: "shared" })).subscription;
    assert.equal(sub?.topic, "shared");
    assert.equal(sub?.ordered, true);
    assert.equal(sub?.push?.form, true);
    assert.equal(sub?.push?.onlyServerErrorsFail, true);
    const stop = new AbortController();
    try {
      for await (const r of c.replay.read(
        { topic: "shared", from: { case: "fromSeq", value: 1n } },
        { signal: stop.signal },
      )) {
        const m = r.messages[0];
        assert.equal(m?.orderingKey, "opq");
        assert.equal(m?.attributes["form.message"], "hello");
        assert.equal(m?.attributes["form.url"], target.url("/shared"));
        assert.equal(m?.attributes["form.topic"], "shared");
        assert.equal(m?.attributes["header.Content-Type"], "application/x-www-form-urlencoded");
        break;
      }
    } finally {
      stop.abort();
    }
  });
});
