import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BrokerError } from "../errors/index.js";
import { createFakeClock } from "../util/index.js";
import { createAuthenticator } from "./authenticator.js";
import { hashPassword } from "./password-hash.js";

const FAST = { N: 1024, r: 8, p: 1 };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** What `f` throws: a BrokerError UNAUTHENTICATED, whose message it returns. */
function thrownNow(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof BrokerError && e.reason === "UNAUTHENTICATED", String(e));
    return e.message;
  }
  return assert.fail("expected a synchronous UNAUTHENTICATED");
}

describe("authenticator - answers at once (fromAuthorization)", () => {
  it("accepted credentials - a token and a verified password answer at once; a hash check is a promise, then not", async () => {
    const auth = createAuthenticator({
      users: [
        { name: "alice", password: "pw-alice", tokens: ["tok-alice"], roles: ["publisher"], topics: ["orders"] },
        { name: "bob", passwordHash: await hashPassword("pw-bob", FAST), tokens: [], roles: ["admin"], topics: [] },
      ],
    });
    const token = auth.fromAuthorization("Bearer tok-alice", "10.0.0.1");
    assert.ok(!(token instanceof Promise) && token.name === "alice");
    const plain = auth.fromAuthorization(basic("alice", "pw-alice"), "10.0.0.1");
    assert.ok(!(plain instanceof Promise) && plain.name === "alice");
    // bob's password was never verified: the first check hashes, later ones do not.
    const first = auth.fromAuthorization(basic("bob", "pw-bob"), "10.0.0.1");
    assert.ok(first instanceof Promise);
    assert.equal((await first).name, "bob");
    const again = auth.fromAuthorization(basic("bob", "pw-bob"), "10.0.0.1");
    assert.ok(!(again instanceof Promise) && again.name === "bob");
    // Refusals known at once are thrown; fromHttpBasic gives the same answers as promises.
    assert.match(
      thrownNow(() => auth.fromAuthorization(undefined, "10.0.0.1")),
      /credentials required/,
    );
    assert.match(
      thrownNow(() => auth.fromAuthorization("Bearer nope", "10.0.0.1")),
      /invalid user name or password/,
    );
    assert.equal((await auth.fromHttpBasic("  Bearer tok-alice ", "10.0.0.1")).name, "alice");
    await assert.rejects(auth.fromHttpBasic("Digest x", "10.0.0.1"), /unsupported authorization scheme "digest"/);
  });

  it("accepted credentials - a remembered value still waits out the throttle of its peer", () => {
    const clock = createFakeClock(1_000_000);
    const auth = createAuthenticator({
      users: [{ name: "alice", password: "pw-alice", tokens: [], roles: ["publisher"], topics: ["orders"] }],
      clock,
      throttle: { freeFailures: 2, baseDelayMs: 1_000 },
    });
    const good = basic("alice", "pw-alice");
    const name = (p: unknown) => (p as { name: string }).name;
    assert.equal(name(auth.fromAuthorization(good, "10.0.0.2")), "alice");
    for (let i = 0; i < 3; i++) thrownNow(() => auth.fromAuthorization(`Bearer bad-${i}`, "10.0.0.2"));
    // Slowed down: the value accepted before is refused unchecked, as any login would be.
    assert.match(
      thrownNow(() => auth.fromAuthorization(good, "10.0.0.2")),
      /too many failed logins from this address; retry in 1 s/,
    );
    // Another address is not slowed down.
    assert.equal(name(auth.fromAuthorization(good, "10.0.0.3")), "alice");
    clock.advance(1_000);
    assert.equal(name(auth.fromAuthorization(good, "10.0.0.2")), "alice");
  });
});
