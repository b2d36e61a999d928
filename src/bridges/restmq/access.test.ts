import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BrokerError } from "../../errors/index.js";
import { silentLogger } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import { cookieCredentials, createAccessControl, hostAllowed, type RestmqAuth } from "./access.js";
import type { HttpError, Request } from "./http-io.js";

describe("restmq access", () => {
  it("restmq - no host lists: every address is let in", () => {
    assert.equal(hostAllowed({ allow: [], deny: [] }, "10.1.2.3"), true);
  });

  it("restmq - an allow list alone refuses every address not on it (prefixes compared as text)", () => {
    const rules = { allow: ["127.0.0.1", "10.0."], deny: [] };
    assert.equal(hostAllowed(rules, "127.0.0.1"), true);
    assert.equal(hostAllowed(rules, "10.0.7.9"), true);
    assert.equal(hostAllowed(rules, "10.1.0.1"), false);
    assert.equal(hostAllowed(rules, "::1"), false);
  });

  it("restmq - a deny list refuses its addresses; an allow match wins over a deny match", () => {
    assert.equal(hostAllowed({ allow: [], deny: ["192.168."] }, "192.168.1.1"), false);
    assert.equal(hostAllowed({ allow: [], deny: ["192.168."] }, "10.0.0.1"), true);
    const both = { allow: ["192.168.1."], deny: ["192.168."] };
    assert.equal(hostAllowed(both, "192.168.1.5"), true);
    assert.equal(hostAllowed(both, "192.168.2.5"), false);
    assert.equal(hostAllowed(both, "10.0.0.1"), true, "with a deny list, addresses on neither list are let in");
  });

  it("restmq - `all` matches every address", () => {
    assert.equal(hostAllowed({ allow: [], deny: ["all"] }, "127.0.0.1"), false);
    assert.equal(hostAllowed({ allow: ["127.0.0.1"], deny: ["all"] }, "127.0.0.1"), true);
    assert.equal(hostAllowed({ allow: ["all"], deny: [] }, "1.2.3.4"), true);
  });

  it("restmq - the websocket auth cookie is auth=user:password (quotes allowed, the password may hold colons)", () => {
    assert.deepEqual(cookieCredentials("a=1; auth=alice:s3:cret; b=2"), { user: "alice", password: "s3:cret" });
    assert.deepEqual(cookieCredentials('auth="bob:pw"'), { user: "bob", password: "pw" });
    assert.equal(cookieCredentials("auth=nocolon"), undefined);
    assert.equal(cookieCredentials("other=1"), undefined);
    assert.equal(cookieCredentials(undefined), undefined);
  });
});

describe("restmq access control", () => {
  const serverClients = { name: "server" } as unknown as BrokerClients;
  const request = (headers: Record<string, string>, remoteAddress = "127.0.0.1") =>
    ({ headers, socket: { remoteAddress } }) as unknown as Request;
  const auth: RestmqAuth<string> = {
    authenticator: {
      enabled: true,
      async fromHttpBasic(header) {
        if (header === `Basic ${Buffer.from("alice:pw").toString("base64")}`) return "alice";
        throw new BrokerError("UNAUTHENTICATED", "invalid user name or password");
      },
      async login(user, password) {
        if (user === "alice" && password === "pw") return "alice";
        throw new BrokerError("UNAUTHENTICATED", "invalid user name or password");
      },
    },
    clientsAs: (p) => ({ name: p }) as unknown as BrokerClients,
  };
  it("restmq - auth off: every request uses the server's clients; the host rules still apply", async () => {
    const open = createAccessControl(serverClients, { allow: [], deny: ["10."] }, undefined, silentLogger);
    assert.equal(await open.clientsFor(request({})), serverClients);
    await assert.rejects(
      open.clientsFor(request({}, "10.0.0.1")),
      (e: HttpError) => e.status === 401 && !("WWW-Authenticate" in e.headers),
    );
    assert.equal(await open.clientsFor(request({}, "::ffff:127.0.0.1")), serverClients);
  });

  it("restmq - HTTP Basic picks the user's clients; missing or wrong credentials are 401 with a Basic challenge", async () => {
    const ac = createAccessControl(serverClients, { allow: [], deny: [] }, auth, silentLogger);
    const basic = `Basic ${Buffer.from("alice:pw").toString("base64")}`;
    assert.deepEqual(await ac.clientsFor(request({ authorization: basic })), { name: "alice" });
    const wrong = `Basic ${Buffer.from("alice:no").toString("base64")}`;
    for (const headers of [{}, { authorization: wrong }] as Record<string, string>[]) {
      await assert.rejects(
        ac.clientsFor(request(headers)),
        (e: HttpError) =>
          e.status === 401 && e.headers["WWW-Authenticate"] === 'Basic realm="RestMQ Restricted Access"',
      );
    }
  });

  it("restmq - websockets log in with the auth=user:password cookie, not HTTP Basic", async () => {
    const ac = createAccessControl(serverClients, { allow: [], deny: [] }, auth, silentLogger);
    assert.deepEqual(await ac.clientsFor(request({ cookie: "auth=alice:pw" }), true), { name: "alice" });
    const basic = `Basic ${Buffer.from("alice:pw").toString("base64")}`;
    await assert.rejects(ac.clientsFor(request({ authorization: basic }), true), (e: HttpError) => e.status === 401);
    await assert.rejects(
      ac.clientsFor(request({ cookie: "auth=alice:bad" }), true),
      (e: HttpError) => e.status === 401,
    );
  });
});
