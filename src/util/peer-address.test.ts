import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientKey, isLoopbackAddress } from "./peer-address.js";

describe("peer address", () => {
  it("peer address - IPv4 as it is, mapped IPv4 as IPv4, IPv6 by its /64", () => {
    assert.equal(clientKey("10.1.2.3"), "10.1.2.3");
    assert.equal(clientKey("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(clientKey("::FFFF:10.1.2.3"), "10.1.2.3");
    assert.equal(clientKey("2001:db8:0:7:1:2:3:4"), "2001:db8:0:7::/64");
    assert.equal(clientKey("2001:0db8:0000:0007:ffff::9"), "2001:db8:0:7::/64", "leading zeros and :: expand");
    assert.equal(clientKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(clientKey("[2001:db8:0:7::5]"), "2001:db8:0:7::/64");
    assert.equal(clientKey("fe80::1%eth0"), "fe80:0:0:0::/64", "the zone is not part of the key");
    assert.equal(clientKey("::1"), "0:0:0:0::/64");
    assert.equal(clientKey("::"), "0:0:0:0::/64");
    assert.equal(clientKey("64:ff9b::1.2.3.4"), "64:ff9b:0:0::/64");
    assert.equal(clientKey(undefined), "unknown");
    assert.equal(clientKey(""), "unknown");
    assert.equal(clientKey("not:an::address::"), "not:an::address::", "garbage is its own key");
  });

  it("peer address - two addresses of one /64 are one client; another /64 is another", () => {
    assert.equal(clientKey("2001:db8:0:7::1"), clientKey("2001:db8:0:7:dead:beef:0:2"));
    assert.notEqual(clientKey("2001:db8:0:7::1"), clientKey("2001:db8:0:8::1"));
  });

  it("peer address - loopback: 127.0.0.0/8, ::1, mapped 127.x; nothing else", () => {
    for (const a of ["127.0.0.1", "127.9.8.7", "::1", "[::1]", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) {
      assert.ok(isLoopbackAddress(a), a);
    }
    for (const a of ["10.0.0.1", "::2", "::", "::ffff:10.0.0.1", "128.0.0.1", "", undefined, "1::1"]) {
      assert.ok(!isLoopbackAddress(a), String(a));
    }
  });
});
