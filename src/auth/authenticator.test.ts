import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BrokerError } from "../errors/index.js";
import { createFakeClock, type Logger } from "../util/index.js";
import { createAuthenticator } from "./authenticator.js";
import { createHashSlots, type HashSlots, PROCESS_HASH_SLOTS, threadPoolSize } from "./hash-slots.js";
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

/** Hash slots that count the checks they run and the most that ran at once. */
function countingSlots(concurrency = 2): { slots: HashSlots; runs(): number; peak(): number } {
  const inner = createHashSlots(concurrency);
  let runs = 0;
  let running = 0;
  let peak = 0;
  const slots: HashSlots = {
    concurrency,
    pending: inner.pending,
    run(task) {
      runs++;
      return inner.run(async () => {
        running++;
        peak = Math.max(peak, running);
        try {
          return await task();
        } finally {
          running--;
        }
      });
    },
  };
  return { slots, runs: () => runs, peak: () => peak };
}

/** Settles every promise and tallies the outcomes: a user name, or the refusal's message. */
async function outcomes(calls: Promise<{ name: string }>[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await Promise.allSettled(calls)) {
    const k = r.status === "fulfilled" ? r.value.name : (r.reason as Error).message.replace(/\d+ s$/, "N s");
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
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
    assert.equal(
      (await auth.login("alice", "pw-alice", "10.0.0.1")).name,
      "alice",
      "a success clears alice's failures",
    );
    await unauthenticated(auth.login("alice", "guess", "10.0.0.1"), /^invalid/);
  });

  it("authenticator - parallel guesses each count before they are checked: the throttle holds", async () => {
    const clock = createFakeClock();
    const auth = createAuthenticator({ users: await users(), clock, maxHashChecksPerPeer: 100 });
    const guesses = Array.from({ length: 20 }, (_, i) => auth.login("alice", `guess-${i}`, "10.0.0.9"));
    // 5 free failures, the 6th earns a wait: every later guess is refused unchecked.
    assert.deepEqual(await outcomes(guesses), {
      "invalid user name or password": 6,
      "too many failed logins from this address; retry in N s": 14,
    });
  });

  it("authenticator - at most 2 hash checks per peer at once; an identical login joins the one running", async () => {
    const counted = countingSlots();
    const auth = createAuthenticator({ users: await users(), hashSlots: counted.slots });
    await new Promise((r) => setTimeout(r, 50));
    const before = counted.runs();
    const guesses = Array.from({ length: 6 }, (_, i) => auth.login("bob", `guess-${i}`, "10.0.0.7"));
    assert.deepEqual(await outcomes(guesses), {
      "invalid user name or password": 2,
      "too many logins from this address being checked; retry shortly": 4,
    });
    assert.equal(counted.runs() - before, 2, "two hash checks ran");
    // A client's first burst with the right password: one check, every call logged in.
    const burst = Array.from({ length: 10 }, () => auth.login("bob", "pw-bob", "10.0.0.8"));
    assert.deepEqual(await outcomes(burst), { bob: 10 });
    assert.equal(counted.runs() - before, 3, "one more hash check for the ten logins");
    assert.equal((await auth.login("bob", "pw-bob", "10.0.0.8")).name, "bob");
    assert.equal(counted.runs() - before, 3, "a verified password costs no hash check");
  });

  it("authenticator - every failed password check costs one hash check: plain, hashed, unknown, token-only", async () => {
    const counted = countingSlots();
    const list = [
      ...(await users()),
      { name: "carol", tokens: ["tok-carol"], roles: ["admin" as const], topics: [] },
      { name: "dave", password: "pw-dave", tokens: [], roles: ["admin" as const], topics: [] },
    ];
    const auth = createAuthenticator({ users: list, hashSlots: counted.slots, maxHashChecksPerPeer: 100 });
    // The plain passwords (alice, dave) and the decoy are hashed at once, with the hashed users' parameters.
    assert.equal(counted.runs(), 3);
    const peers = ["a", "b", "c", "d", "e"];
    const wrong: [string, string][] = [
      ["alice", "nope"],
      ["bob", "nope"],
      ["carol", "nope"],
      ["mallory", "nope"],
      ["dave", "pw-alice"],
    ];
    for (const [i, [user, password]] of wrong.entries()) {
      const runs = counted.runs();
      await unauthenticated(auth.login(user, password, peers[i] as string), /^invalid user name or password$/);
      assert.equal(counted.runs() - runs, 1, `${user}: one hash check`);
    }
    const runs = counted.runs();
    assert.equal((await auth.login("dave", "pw-dave", "f")).name, "dave");
    assert.equal((await auth.login("alice", "pw-alice", "f")).name, "alice");
    assert.equal(counted.runs(), runs, "a right plain password is known without hashing");
  });

  it("authenticator - hash checks never take more than half of libuv's thread pool", async () => {
    assert.equal(threadPoolSize({}), 4);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: "16" }), 16);
    assert.equal(PROCESS_HASH_SLOTS.concurrency, Math.max(1, Math.floor(threadPoolSize() / 2)));
    const counted = countingSlots(2);
    const auth = createAuthenticator({ users: await users(), hashSlots: counted.slots });
    const flood = Array.from({ length: 30 }, (_, i) => auth.login(`user-${i}`, "x", `10.1.0.${i}`));
    await Promise.allSettled(flood);
    assert.equal(counted.peak(), 2, "two at once, never more");
  });

  it("authenticator - a login flood leaves the thread pool to file reads", async () => {
    // Plain passwords only: the decoy has hash-password's parameters (tens of ms per check).
    const auth = createAuthenticator({
      users: [{ name: "app", password: "pw", tokens: [], roles: ["admin"], topics: [] }],
      maxPendingHashChecks: 100,
    });
    const flood = Array.from({ length: 40 }, (_, i) => auth.login(`user-${i}`, "x", `10.2.0.${i}`));
    let settled = 0;
    for (const f of flood) f.catch(() => {}).finally(() => settled++);
    // A file read needs a pool thread: it finishes while nearly all logins still wait.
    const { stat } = await import("node:fs/promises");
    await stat(".");
    const leftWhenRead = flood.length - settled;
    await Promise.allSettled(flood);
    assert.ok(leftWhenRead >= 30, `the read waited for ${flood.length - leftWhenRead} hash checks`);
  });

  it("authenticator - a success clears only that user's failures from that peer", async () => {
    const clock = createFakeClock();
    const auth = createAuthenticator({ users: await users(), clock, throttle: { freeFailures: 3 } });
    // alice, who knows her password, guesses bob's between her own logins.
    for (let i = 0; i < 4; i++) {
      await unauthenticated(auth.login("bob", `guess-${i}`, "10.0.0.5"), /^invalid/);
      assert.equal(
        (await auth.login("alice", "pw-alice", "10.0.0.5").catch(() => ({ name: "refused" }))).name,
        i < 3 ? "alice" : "refused",
      );
    }
    await unauthenticated(auth.login("bob", "guess-4", "10.0.0.5"), /too many failed logins/);
    // Bad tokens count too, and a token success does not clear them.
    clock.advance(60_000 * 15);
    for (let i = 0; i < 3; i++) await unauthenticated(auth.loginToken(`tok-${i}`, "10.0.0.6"));
    assert.equal((await auth.loginToken("tok-alice", "10.0.0.6")).name, "alice");
    await unauthenticated(auth.loginToken("tok-x", "10.0.0.6"), /^invalid/);
    await unauthenticated(auth.loginToken("tok-alice", "10.0.0.6"), /too many failed logins/);
  });

  it("authenticator - IPv6 peers are throttled by /64", async () => {
    const clock = createFakeClock();
    const auth = createAuthenticator({ users: await users(), clock, throttle: { freeFailures: 2 } });
    for (const host of ["2001:db8:0:7::1", "2001:db8:0:7::2", "2001:db8:0:7:ffff::3"]) {
      await unauthenticated(auth.login("alice", "guess", host), /^invalid/);
    }
    await unauthenticated(auth.login("alice", "pw-alice", "2001:db8:0:7::99"), /too many failed logins/);
    assert.equal((await auth.login("alice", "pw-alice", "2001:db8:0:8::1")).name, "alice", "another /64");
  });

  it("authenticator - filling the peer table does not wipe a slowed-down peer", async () => {
    const clock = createFakeClock();
    const auth = createAuthenticator({ users: await users(), clock, throttle: { freeFailures: 2, maxPeers: 3 } });
    for (let i = 0; i < 3; i++) await unauthenticated(auth.login("alice", "guess", "10.9.9.9"));
    for (let i = 0; i < 50; i++) await unauthenticated(auth.loginToken("nope", `10.8.0.${i}`));
    await unauthenticated(auth.login("alice", "pw-alice", "10.9.9.9"), /too many failed logins/);
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
