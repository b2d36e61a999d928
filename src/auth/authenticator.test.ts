import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BrokerError } from "../errors/index.js";
import { createFakeClock, type Logger } from "../util/index.js";
import { createAuthenticator } from "./authenticator.js";
import { hashPassword } from "./password-hash.js";
import { ANONYMOUS } from "./principal.js";
import type { UserConfig } from "./users.js";

const FAST = { N: 1024, r: 8, p: 1 };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function users(): Promise<UserConfig[]> {
  return [
    { name: "alice", password: "pw-alice", tokens: ["tok-alice"], roles: ["publisher"], topics: ["orders"] },
    { name: "bob", passwordHash: await hashPassword("pw-bob", FAST), tokens: [], roles: ["subscriber"], topics: ["*"] },
  ];
}

/** Rejects with BrokerError UNAUTHENTICATED; returns its metadata. */
async function unauthenticated(call: Promise<unknown>, message?: RegExp): Promise<Record<string, string>> {
  let caught: unknown;
  await call.then(
    () => assert.fail("expected UNAUTHENTICATED"),
    (e: unknown) => {
      caught = e;
    },
  );
  assert.ok(caught instanceof BrokerError, String(caught));
  assert.equal(caught.reason, "UNAUTHENTICATED");
  if (message) assert.match(caught.message, message);
  return caught.metadata;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (m: string, f?: Record<string, unknown>) => lines.push(`${m} ${JSON.stringify(f ?? {})}`);
  return { lines, info: log, warn: log, error: log };
}

describe("authenticator", () => {
  it("authenticator - auth off: every check answers the anonymous principal", async () => {
    const auth = createAuthenticator({ users: undefined });
    assert.equal(auth.enabled, false);
    assert.equal(await auth.login("x", "y", "1.2.3.4"), ANONYMOUS);
    assert.equal(await auth.fromHttpBasic(undefined, "1.2.3.4"), ANONYMOUS);
    assert.equal(await auth.loginToken("nope", "1.2.3.4"), ANONYMOUS);
  });

  it("authenticator - plain and hashed passwords, tokens, Basic and Bearer give the user's principal", async () => {
    const auth = createAuthenticator({ users: await users() });
    assert.equal(auth.enabled, true);
    const alice = await auth.login("alice", "pw-alice", "p");
    assert.deepEqual({ ...alice }, { kind: "user", name: "alice", roles: ["publisher"], topics: ["orders"] });
    assert.equal(await auth.fromHttpBasic(basic("alice", "pw-alice"), "p"), alice, "one principal object per user");
    assert.equal(await auth.loginToken("tok-alice", "p"), alice);
    assert.equal(await auth.fromHttpBasic("bearer tok-alice", "p"), alice, "the scheme is case-insensitive");
    const bob = await auth.login("bob", "pw-bob", "p");
    assert.equal(bob.name, "bob");
    assert.equal(await auth.fromHttpBasic(basic("bob", "pw-bob"), "p"), bob, "again (the verified cache)");
    assert.equal(await auth.fromHttpBasic(basic("bob", "pw:with:colons"), "q").catch(() => "refused"), "refused");
    assert.equal(auth.wwwAuthenticate, 'Basic realm="switchyard", charset="UTF-8"');
  });

  it("authenticator - wrong or missing credentials reject UNAUTHENTICATED without saying which part was wrong", async () => {
    const logger = recordingLogger();
    const auth = createAuthenticator({ users: await users(), logger });
    await unauthenticated(auth.login("alice", "nope", "p1"), /^invalid user name or password$/);
    await unauthenticated(auth.login("mallory", "pw-alice", "p1"), /^invalid user name or password$/);
    await unauthenticated(auth.login("bob", "pw-alice", "p1"), /^invalid user name or password$/);
    await unauthenticated(auth.loginToken("tok-bob", "p1"));
    await unauthenticated(auth.fromHttpBasic(undefined, "p2"), /credentials required/);
    await unauthenticated(auth.fromHttpBasic("Digest abc", "p2"), /unsupported authorization scheme "digest"/);
    await unauthenticated(auth.fromHttpBasic("Basic %%%", "p2"), /malformed/);
    await unauthenticated(auth.fromHttpBasic(`Basic ${Buffer.from("nocolon").toString("base64")}`, "p2"), /':'/);
    await unauthenticated(auth.login("alice", "x".repeat(2000), "p3"));
    const log = logger.lines.join("\n");
    assert.match(log, /login failed \{"peer":"p1","user":"alice","how":"password"\}/);
    for (const secret of ["nope", "pw-alice", "pw-bob", "tok-bob", "tok-alice"]) {
      assert.ok(!log.includes(secret), `the log never holds a password or token (${secret})`);
    }
  });

  it("authenticator - repeated failures from one peer are slowed down (injected clock)", async () => {
    const clock = createFakeClock();
    const auth = createAuthenticator({
      users: await users(),
      clock,
      throttle: { freeFailures: 3, baseDelayMs: 1_000, maxDelayMs: 4_000 },
    });
    for (let i = 0; i < 3; i++) await unauthenticated(auth.login("alice", "guess", "10.0.0.1"));
    // The third failure is still free: the right password works at once, and clears the count.
    assert.equal((await auth.login("alice", "pw-alice", "10.0.0.1")).name, "alice");
    for (let i = 0; i < 4; i++) await unauthenticated(auth.login("alice", "guess", "10.0.0.1"));
    // The 4th failure blocks the peer for 1 s: even the right password is refused unchecked.
    const meta = await unauthenticated(auth.login("alice", "pw-alice", "10.0.0.1"), /too many failed logins/);
    assert.equal(meta.retry_after_ms, "1000");
    await unauthenticated(auth.fromHttpBasic("Bearer tok-alice", "10.0.0.1"), /too many failed logins/);
    // Another peer is not affected; IPv4-mapped IPv6 is the same peer.
    assert.equal((await auth.login("alice", "pw-alice", "10.0.0.2")).name, "alice");
    await unauthenticated(auth.login("alice", "pw-alice", "::ffff:10.0.0.1"), /too many failed logins/);
    clock.advance(999);
    await unauthenticated(auth.login("alice", "pw-alice", "10.0.0.1"), /retry in 1 s/);
    clock.advance(1);
    // Allowed again, and a wrong guess now blocks for twice as long (doubling up to the max).
    await unauthenticated(auth.login("alice", "guess", "10.0.0.1"), /^invalid/);
    assert.equal((await unauthenticated(auth.login("alice", "pw-alice", "10.0.0.1"))).retry_after_ms, "2000");
    clock.advance(2000);
    await unauthenticated(auth.login("alice", "guess", "10.0.0.1"));
    assert.equal((await unauthenticated(auth.login("alice", "pw-alice", "10.0.0.1"))).retry_after_ms, "4000");
    clock.advance(4000);
    await unauthenticated(auth.login("alice", "guess", "10.0.0.1"));
    assert.equal((await unauthenticated(auth.login("alice", "pw-alice", "10.0.0.1"))).retry_after_ms, "4000", "capped");
    clock.advance(4000);
    assert.equal((await auth.login("alice", "pw-alice", "10.0.0.1")).name, "alice", "a success clears the peer");
    await unauthenticated(auth.login("alice", "guess", "10.0.0.1"), /^invalid/);
  });

  it("authenticator - a peer's failures are forgotten after forgetAfterMs; the table is bounded", async () => {
    const clock = createFakeClock();
    const auth = createAuthenticator({
      users: await users(),
      clock,
      throttle: { freeFailures: 1, baseDelayMs: 1_000, forgetAfterMs: 60_000, maxPeers: 2 },
    });
    await unauthenticated(auth.login("alice", "x", "a"));
    await unauthenticated(auth.login("alice", "x", "a"));
    await unauthenticated(auth.login("alice", "pw-alice", "a"), /too many/);
    clock.advance(60_000);
    assert.equal((await auth.login("alice", "pw-alice", "a")).name, "alice", "forgotten");
    // Peers b, c, d: only the two most recent are tracked, so b's record is dropped.
    for (const peer of ["b", "b", "c", "c", "d", "d"]) await unauthenticated(auth.login("alice", "x", peer));
    assert.equal((await auth.login("alice", "pw-alice", "b")).name, "alice");
    await unauthenticated(auth.login("alice", "pw-alice", "d"), /too many/);
  });
});
