import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cookieCredentials, hostAllowed } from "./access.js";

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
