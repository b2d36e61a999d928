import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ANONYMOUS, coversAllTopics, permits, SERVER_PRINCIPAL, userPrincipal } from "./principal.js";

describe("principal", () => {
  it("principal - roles apply to the listed topics: names and * patterns", () => {
    const p = userPrincipal("app", ["publisher"], ["orders", "orders.*", "a*b"]);
    assert.equal(permits(p, "publisher", "orders"), true);
    assert.equal(permits(p, "publisher", "orders.eu"), true);
    assert.equal(permits(p, "publisher", "orders.eu.north"), true, "* matches any run of characters");
    assert.equal(permits(p, "publisher", "ordersX"), false);
    assert.equal(permits(p, "publisher", "aXYZb"), true);
    assert.equal(permits(p, "publisher", "ab"), true);
    assert.equal(permits(p, "publisher", "billing"), false);
    assert.equal(permits(p, "subscriber", "orders"), false, "a role it does not hold");
    assert.equal(permits(p, "admin"), false);
  });

  it("principal - regex characters in topic names are literal", () => {
    const p = userPrincipal("app", ["subscriber"], ["a.b", "x(y)*"]);
    assert.equal(permits(p, "subscriber", "a.b"), true);
    assert.equal(permits(p, "subscriber", "aXb"), false);
    assert.equal(permits(p, "subscriber", "x(y)z"), true);
    assert.equal(permits(p, "subscriber", "xyz"), false);
  });

  it("principal - read_all gives the subscriber role every topic, not the publisher role", () => {
    const p = userPrincipal("reader", ["subscriber", "publisher"], ["read_all", "out"]);
    assert.equal(permits(p, "subscriber", "anything"), true);
    assert.equal(permits(p, "publisher", "anything"), false);
    assert.equal(permits(p, "publisher", "out"), true);
    assert.equal(coversAllTopics(p, "subscriber"), true);
    assert.equal(coversAllTopics(p, "publisher"), false);
    const noRole = userPrincipal("x", ["publisher"], ["read_all"]);
    assert.equal(permits(noRole, "subscriber", "t"), false, "read_all needs the subscriber role");
  });

  it("principal - admin is not limited by topics; * covers everything; anonymous and server may do all", () => {
    const admin = userPrincipal("root", ["admin"], []);
    assert.equal(permits(admin, "admin"), true);
    assert.equal(permits(admin, "publisher", "t"), false, "admin alone does not publish");
    const all = userPrincipal("all", ["publisher", "subscriber"], ["*"]);
    assert.equal(permits(all, "publisher", "x"), true);
    assert.equal(coversAllTopics(all, "subscriber"), true);
    for (const p of [ANONYMOUS, SERVER_PRINCIPAL]) {
      assert.equal(permits(p, "admin"), true);
      assert.equal(permits(p, "publisher", "x"), true);
    }
  });
});
