/**
 * RestMQ's IP allow/deny lists (`--restmq-hosts-allow`, `--restmq-hosts-deny`) on the real server:
 * a refused address gets cyclone's 401 page with no challenge on REST, comet and the websocket
 * handshake; the help redirect and the static pages stay open, as in RestMQ.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { form, rawRequest } from "../helpers/raw-http.js";
import { openWs } from "../helpers/restmq-live.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const PAGE_401 = "<html><title>401: Unauthorized</title><body>401: Unauthorized</body></html>";

describe("restmq host rules", () => {
  let denied: TestServer;
  let allowed: TestServer;

  before(async () => {
    // The tests connect from 127.0.0.1.
    denied = await startTestServer({ config: { okqPort: "off", restmqHostsDeny: ["127.0."] } });
    allowed = await startTestServer({
      config: { okqPort: "off", restmqHostsAllow: ["127.0.0.1"], restmqHostsDeny: ["all"] },
    });
  });
  after(async () => {
    await denied.close();
    await allowed.close();
  });

  it("restmq - a denied address gets 401 without a challenge on every guarded endpoint", async () => {
    const rest = denied.addresses.restmq as string;
    for (const [method, path, body] of [
      ["POST", "/q/acl", "value=1"],
      ["GET", "/q/acl", undefined],
      ["DELETE", "/q/acl", undefined],
      ["POST", "/queue", 'body={"cmd":"get","queue":"acl"}'],
      ["GET", "/c/acl", undefined],
      ["GET", "/stats/", undefined],
      ["POST", "/control/acl", "status=stop"],
      ["GET", "/p/acl", undefined],
    ] as const) {
      const r = await rawRequest(rest, method, path, body === undefined ? {} : form(body));
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.equal(r.body.toString(), PAGE_401);
      assert.equal(r.headers["www-authenticate"], undefined);
    }
    await assert.rejects(openWs(rest, "/ws/acl"), /handshake answered 401/);
    assert.equal((await rawRequest(rest, "GET", "/queue")).status, 302, "the help redirect is open");
    assert.equal((await rawRequest(rest, "GET", "/static/index.html")).status, 200);
  });

  it("restmq - an address on the allow list is let in even when the deny list says all", async () => {
    const rest = allowed.addresses.restmq as string;
    assert.equal((await rawRequest(rest, "POST", "/q/acl", form("value=1"))).body.toString(), "acl:1\r\n");
    const ws = await openWs(rest, "/ws/acl");
    ws.ws.close();
    await ws.closed;
  });
});
