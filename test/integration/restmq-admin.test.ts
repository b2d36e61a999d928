/**
 * RestMQ's policy (`/p`), flow control (`/control`) and statistics (`/stats`) endpoints against the
 * real server, and that policies and start/stop survive a restart (they live in the settings topic).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { form, type RawResponse, rawRequest } from "../helpers/raw-http.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const REDIS = '"redis": "<Switchyard broker: in-process>"';
const text = (r: RawResponse) => r.body.toString();

describe("restmq policy, control and stats", () => {
  let server: TestServer;
  let rest: string;
  const post = (path: string, body: string) => rawRequest(rest, "POST", path, form(body));
  const get = (path: string) => rawRequest(rest, "GET", path);

  before(async () => {
    server = await startTestServer({ config: { okqPort: "off" } });
    rest = server.addresses.restmq as string;
  });
  after(() => server.close());

  it("restmq - GET /p says broadcast until set; POST sets broadcast or roundrobin (OK), anything else null", async () => {
    const first = await get("/p/pol");
    assert.equal(first.headers["content-type"], "text/html; charset=UTF-8");
    assert.equal(text(first), '{"queue": "pol", "value": "broadcast"}\r\n');
    assert.equal(text(await post("/p/pol", "policy=roundrobin")), "OK\r\n");
    assert.equal(text(await get("/p/pol")), '{"queue": "pol", "value": "roundrobin"}\r\n');
    assert.equal(text(await post("/p/pol", "policy=fanout")), "null\r\n");
    assert.equal(text(await get("/p/pol?callback=cb")), 'cb({"queue": "pol", "value": "roundrobin"});\r\n');
    assert.equal((await post("/p/pol", "other=1")).status, 400);
    assert.equal(text(await post("/p/pol", "policy=broadcast&callback=cb")), "cb(OK);\r\n");
  });

  it("restmq - /p and /control keep nothing under a name the broker could not store (400)", async () => {
    const page400 = "<html><title>400: Bad Request</title><body>400: Bad Request</body></html>";
    const long = "n".repeat(256);
    for (const name of [long, "bad%01name", "bad%7Fname", "%EF%BF%BD"]) {
      for (const [path, body] of [
        [`/p/${name}`, "policy=roundrobin"],
        [`/control/${name}`, "status=stop"],
      ] as const) {
        const r = await post(path, body);
        assert.equal(r.status, 400, `${path.slice(0, 20)} ${body}`);
        assert.equal(text(r), page400);
      }
    }
    assert.equal(text(await post(`/p/${"n".repeat(255)}`, "policy=roundrobin")), "OK\r\n", "255 bytes is fine");
    assert.equal(text(await post("/p/%C3%A9t%C3%A9", "policy=roundrobin")), "OK\r\n", "UTF-8 is fine");
    assert.equal(text(await get(`/p/${long}`)), `{"queue": "${long}", "value": "broadcast"}\r\n`, "reads answer");
  });

  it("restmq - /control: null before the queue exists, 1 once it does, then as set by start and stop", async () => {
    const none = await get("/control/ctl");
    assert.equal(none.headers["content-type"], "application/json");
    assert.equal(text(none), `{"queue": "ctl", "status": {"queue": "ctl", "status": null}, ${REDIS}}\r\n`);
    await post("/q/ctl", "value=1");
    assert.equal(
      text(await get("/control/ctl")),
      `{"queue": "ctl", "status": {"queue": "ctl", "status": 1}, ${REDIS}}\r\n`,
    );
    const stop = await post("/control/ctl", "status=stop");
    assert.equal(stop.headers["content-type"], "text/html; charset=UTF-8");
    assert.equal(text(stop), '{"stat": {"queue": "ctl", "status": 0}}\r\n');
    assert.equal(
      text(await get("/control/ctl")),
      `{"queue": "ctl", "status": {"queue": "ctl", "status": 0}, ${REDIS}}\r\n`,
    );
    assert.equal(
      text(await post("/control/ctl", "status=start&callback=cb")),
      'cb({"stat": {"queue": "ctl", "status": 1}})\r\n',
    );
    assert.equal(text(await post("/control/ctl", "status=pause")), '{"stat": "invalid status: pause"}\r\n');
    assert.equal(text(await post("/control/ctl", "")), '{"stat": "invalid status: None"}\r\n');
  });

  it("restmq - /stats/<q> gives the waiting length; /stats/ every queue with status and policy", async () => {
    for (const v of ["a", "b", "c"]) await post("/q/st1", `value=${v}`);
    await post("/q/st2", "value=x");
    await post("/p/st2", "policy=roundrobin");
    await post("/control/st2", "status=stop");
    const one = await get("/stats/st1");
    assert.equal(one.headers["content-type"], "application/json");
    assert.equal(text(one), `{"queue": "st1", ${REDIS}, "len": 3}`);
    assert.equal(text(await get("/stats/none-such")), `{"queue": "none-such", ${REDIS}, "len": 0}`);
    assert.equal(text(await get("/stats/st1?callback=cb")), `cb({"queue": "st1", ${REDIS}, "len": 3})`);
    const all = text(await get("/stats/"));
    const parsed = JSON.parse(all) as { count: number; queues: Record<string, unknown> };
    assert.equal(parsed.count, Object.keys(parsed.queues).length);
    assert.ok(!("switchyard.restmq.settings" in parsed.queues), "the settings topic is no RestMQ queue");
    assert.ok(all.startsWith('{"count": '), all);
    assert.ok(all.endsWith(`}, ${REDIS}}`), all);
    assert.ok(all.includes('"st1": {"status": 1, "policy": "", "name": "st1", "len": 3}'), all);
    // RestMQ printed "" for a falsy status, so a stopped queue shows "" too.
    assert.ok(all.includes('"st2": {"status": "", "policy": 2, "name": "st2", "len": 1}'), all);
    // JSONP of /stats/ was Python's repr of the dict in RestMQ.
    const repr = text(await get("/stats/?callback=cb"));
    assert.ok(repr.startsWith("cb({'count': "), repr);
    assert.ok(repr.includes("'st2': {'status': '', 'policy': 2, 'name': 'st2', 'len': 1}"), repr);
    assert.ok(repr.endsWith("'redis': '<Switchyard broker: in-process>'})"), repr);
  });

  it("restmq - GET /control/ lists every queue's status", async () => {
    await post("/q/cl", "value=1");
    const all = text(await get("/control/"));
    assert.ok(all.startsWith('{"count": '), all);
    assert.ok(all.includes('"cl": {"queue": "cl", "status": 1}'), all);
    assert.ok(all.endsWith(`, ${REDIS}}\r\n`), all);
  });

  it("restmq - GET /j/<q> is a page with the newest keys", async () => {
    await post("/q/jobs", "value=1");
    await post("/q/jobs", "value=2");
    const r = await get("/j/jobs");
    assert.equal(r.status, 200);
    assert.match(text(r), /2 job\(s\) waiting/);
    assert.match(text(r), /<li>jobs:2<\/li>\n<li>jobs:1<\/li>/);
  });
});

describe("restmq settings survive a restart", () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "switchyard-restmq-restart-"));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it("restmq - policy and start/stop are stored in the broker and read back at start", async () => {
    const first = await startTestServer({ config: { okqPort: "off", dataDir } });
    try {
      const rest = first.addresses.restmq as string;
      await rawRequest(rest, "POST", "/q/kept", form("value=1"));
      assert.equal(text(await rawRequest(rest, "POST", "/p/kept", form("policy=roundrobin"))), "OK\r\n");
      await rawRequest(rest, "POST", "/control/kept", form("status=stop"));
      await rawRequest(rest, "POST", "/p/kept", form("policy=broadcast"));
      await rawRequest(rest, "POST", "/p/kept", form("policy=roundrobin"));
      await rawRequest(rest, "POST", "/p/other", form("policy=roundrobin"));
    } finally {
      await first.close();
    }
    const second = await startTestServer({ config: { okqPort: "off", dataDir } });
    try {
      const rest = second.addresses.restmq as string;
      assert.equal(text(await rawRequest(rest, "GET", "/p/kept")), '{"queue": "kept", "value": "roundrobin"}\r\n');
      assert.equal(
        text(await rawRequest(rest, "GET", "/control/kept")),
        `{"queue": "kept", "status": {"queue": "kept", "status": 0}, ${REDIS}}\r\n`,
      );
      assert.equal(text(await rawRequest(rest, "GET", "/p/other")), '{"queue": "other", "value": "roundrobin"}\r\n');
      assert.equal(text(await rawRequest(rest, "GET", "/q/kept")), '{"count": 0, "key": "kept:1", "value": 1}\r\n');
      // One record per queue is kept: the superseded ones were acked.
      const stats = await fetch(`${second.baseUrl}/switchyard.v1.AdminService/GetStats`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ topics: ["switchyard.restmq.settings"] }),
      }).then((r) => r.json() as Promise<{ subscriptions: { backlog: string }[] }>);
      assert.equal(stats.subscriptions[0]?.backlog, "2");
    } finally {
      await second.close();
    }
  });
});
