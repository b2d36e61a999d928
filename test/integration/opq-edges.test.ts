/**
 * The OPQ bridge at the edges of OPQ's form handling (README "OPQ bridge"): a
 * repeated `url`, the raw query string, bad multipart bodies, a subscription deleted behind the
 * bridge's back. Real server on port 0, real HTTP producer and target.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { opqForm, opqPush, opqRequest } from "../helpers/opq-client.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { startWebhookTarget, type WebhookTarget } from "../helpers/webhook-target.js";

/** Sends `request` as raw bytes to `address` (`host:port`) and resolves with everything read until the server closes. */
function rawExchange(address: string, request: string): Promise<string> {
  const i = address.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.write(request);
  });
}

describe("opq edges", () => {
  let s: TestServer;
  let target: WebhookTarget;
  let opq: string;
  let c: TestClients;
  before(async () => {
    s = await startTestServer({ config: { opqTimeoutMs: 2_000 } });
    target = await startWebhookTarget();
    opq = `http://${s.addresses.opq}`;
    c = createTestClients(s.baseUrl, "connect");
  });
  after(async () => {
    c.close();
    await s.close();
    await target.close();
  });

  it("opq - a url sent twice goes to the first one, and url is left out of the body (as OPQ)", async () => {
    const a = await opqForm(opq, "/opq/push", [
      ["topic", "twice"],
      ["url", target.url("/first")],
      ["url", target.url("/second")],
      ["message", "m0"],
    ]);
    assert.deepEqual([a.status, a.body], [201, "success"]);
    // The topic is not blocked behind it: the next push is delivered too, in order.
    await opqPush(opq, "twice", target.url("/first"), [["message", "m1"]]);
    const got = await target.waitFor("/first", 2);
    assert.equal(got[0]?.body.toString(), "message=m0&topic=twice");
    assert.equal(got[1]?.body.toString(), `message=m1&topic=twice&url=${encodeURIComponent(target.url("/first"))}`);
    assert.equal(target.at("/second").length, 0);
  });

  it("opq - the query string is everything after the first '?', '?' and '#' included (Go's RawQuery)", async () => {
    const url = target.url("/raw");
    // Node's own client drops a fragment: send the request line as it is.
    const answer = await rawExchange(
      s.addresses.opq as string,
      `POST /opq/push?topic=raw&url=${encodeURIComponent(url)}&message=a?b#c&tag=x#y HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 201 Created\r\n[\s\S]*\r\n\r\nsuccess$/);
    const [got] = await target.waitFor("/raw", 1);
    assert.equal(got?.body.toString(), `message=a%3Fb%23c&tag=x%23y&topic=raw&url=${encodeURIComponent(url)}`);
  });

  it("opq - a topic whose OPQ subscription was deleted over the API gets it back with the next push, which is delivered", async () => {
    await opqPush(opq, "subgone", target.url("/subgone"), [["message", "m0"]]);
    await target.waitFor("/subgone", 1);
    await c.admin.deleteSubscription({ name: "subgone" });
    await opqPush(opq, "subgone", target.url("/subgone"), [["message", "m1"]]);
    const got = await target.waitFor("/subgone", 2);
    assert.equal(new URLSearchParams(got[1]?.body.toString()).get("message"), "m1");
    assert.equal((await c.admin.getSubscription({ name: "subgone" })).subscription?.push?.form, true);
  });

  it("opq - a multipart body that does not parse is ignored as Go ignored it: the query's fields are the form", async () => {
    const url = target.url("/badmp");
    const broken = '--X\r\nContent-Disposition: form-data; name="message"\r\n\r\nnever closed';
    const ok = await opqRequest(opq, `/opq/push?topic=badmp&url=${encodeURIComponent(url)}`, {
      headers: [["Content-Type", "multipart/form-data; boundary=X"]],
      body: broken,
    });
    assert.deepEqual([ok.status, ok.body], [201, "success"]);
    const [got] = await target.waitFor("/badmp", 1);
    assert.equal(got?.body.toString(), `topic=badmp&url=${encodeURIComponent(url)}`);
    const refused = await opqRequest(opq, "/opq/push?topic=badmp", {
      headers: [["Content-Type", "multipart/form-data"]],
      body: "url=http%3A%2F%2Fx",
    });
    assert.deepEqual([refused.status, refused.body], [400, "BadRequest: topic=badmp"]);
  });

  it('opq - an empty browser file field (filename="") is a field, as in Go', async () => {
    const url = target.url("/emptyfile");
    const parts = [
      ["topic", "emptyfile", ""],
      ["url", url, ""],
      ["attachment", "", '; filename=""'],
    ].map(([n, v, extra]) => `--X\r\nContent-Disposition: form-data; name="${n}"${extra}\r\n\r\n${v}\r\n`);
    const a = await opqRequest(opq, "/opq/push", {
      headers: [["Content-Type", "multipart/form-data; boundary=X"]],
      body: `${parts.join("")}--X--\r\n`,
    });
    assert.deepEqual([a.status, a.body], [201, "success"]);
    const [got] = await target.waitFor("/emptyfile", 1);
    assert.equal(got?.body.toString(), `attachment=&topic=emptyfile&url=${encodeURIComponent(url)}`);
  });
});

it("opq - a request that arrives during shutdown on a kept-alive connection gets OPQ's 503 ServiceUnavailable", async (t) => {
  const server = await startTestServer();
  t.after(() => server.close());
  const address = server.addresses.opq as string;
  const i = address.lastIndexOf(":");
  const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
  t.after(() => socket.destroy());
  let text = "";
  socket.on("data", (c: Buffer) => {
    text += c.toString("latin1");
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const waitFor = async (what: RegExp) => {
    for (let n = 0; n < 1000 && !what.test(text); n++) await new Promise((r) => setTimeout(r, 5));
    assert.match(text, what);
  };
  // A push in flight when the shutdown begins: its headers are read (100 Continue), its body not yet.
  const bodyA = "message=no+topic";
  socket.write(
    `POST /opq/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: ${bodyA.length}\r\n\r\n`,
  );
  await waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  const closing = server.close();
  await new Promise((r) => setImmediate(r)); // the listeners stop accepting
  const bodyB = `topic=t&url=${encodeURIComponent("http://127.0.0.1:9/")}`;
  socket.write(
    `${bodyA}POST /opq/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${bodyB.length}\r\n\r\n${bodyB}`,
  );
  await closed;
  await closing;
  const answers = text.split(/(?=HTTP\/1\.1 )/);
  assert.equal(answers.length, 3, text);
  assert.match(answers[1] as string, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\r\n\r\nBadRequest: message=no\+topic$/);
  assert.match(answers[2] as string, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(answers[2] as string, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/i);
  assert.match(answers[2] as string, /\r\nConnection: close\r\n/i);
  assert.match(answers[2] as string, /\r\n\r\nServiceUnavailable$/);
});
