/**
 * A second AUTH as another user (README "Oh, Please Queue" bridge: a second AUTH re-authenticates): nothing
 * leased under the old login stays pending, SUBs go on as the new user, and a SUB the new user
 * may not read ends, so permissions never outlive a login.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { createOhpqHarness, TRANSCRIPT_USERS } from "../../../test/helpers/ohpq-harness.js";
import { createFakeClock } from "../../util/index.js";

function harness(t: TestContext) {
  const h = createOhpqHarness({ clock: createFakeClock(), users: TRANSCRIPT_USERS });
  t.after(() => h.close());
  return h;
}

type H = ReturnType<typeof harness>;

async function queueWith(h: H, queue: string, ...payloads: string[]): Promise<void> {
  await h.clients.admin.createTopic({ name: queue, queue: true });
  for (const p of payloads) {
    await h.clients.publisher.publish({ topic: queue, messages: [{ data: Buffer.from(p) }] });
  }
}

async function stats(h: H, queue: string) {
  const s = (await h.clients.admin.getStats({ topics: [queue] })).subscriptions.find((x) => x.name === queue);
  assert.ok(s, `queue ${queue} exists`);
  return s;
}

async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("ohpq re-login", () => {
  it("ohpq relogin - AUTH as another user gives back what the old login holds and reopens its SUBs as the new user", async (t) => {
    const h = harness(t);
    await queueWith(h, "jobs", "one", "two");
    await queueWith(h, "other", "x");
    const c = h.connect();
    await c.roundtrip("AUTH alice s3cret\n", "OK authenticated\n");
    await c.roundtrip("SUB jobs\n", "OK subscribed\nMESSAGE jobs one\n");
    await c.roundtrip("GET other\n", "MESSAGE other x\n");
    // sue (subscriber of every queue) may read both: the SUB goes on, as sue, from "one" again.
    await c.roundtrip("AUTH sue sub\n", "OK authenticated\nMESSAGE jobs one\n");
    const other = await stats(h, "other");
    assert.equal(other.inFlight, 0n, "alice's GET lease went back with the new login");
    assert.equal(other.backlog, 1n);
    await c.roundtrip("GET other\n", "MESSAGE other x\n");
    await c.roundtrip("ACK jobs\n", "OK\nMESSAGE jobs two\n");
    await c.roundtrip("ACK other\n", "OK\n");
    assert.equal((await stats(h, "other")).backlog, 0n, "sue's ACK took it");
    const jobs = await stats(h, "jobs");
    assert.deepEqual([jobs.backlog, jobs.inFlight], [1n, 1n], "sue's ACK took one; two is pushed and pending");
    c.socket.destroy();
  });

  it("ohpq relogin - AUTH as a user who may not read ends the SUB: no more pushes, nothing held", async (t) => {
    const h = harness(t);
    await queueWith(h, "jobs", "one");
    const c = h.connect();
    await c.roundtrip("AUTH alice s3cret\n", "OK authenticated\n");
    await c.roundtrip("SUB jobs\n", "OK subscribed\nMESSAGE jobs one\n");
    // pete may publish to jobs but not consume from it.
    await c.roundtrip("AUTH pete pub\n", "OK authenticated\n");
    await eventually(async () => {
      const s = await stats(h, "jobs");
      return s.inFlight === 0n && s.consumers === 0;
    }, "alice's stream has ended and pete's was refused");
    await c.roundtrip("ACK jobs\n", "ERROR no pending message\n");
    await c.roundtrip("GET jobs\n", "ERROR permission denied\n");
    await c.roundtrip("PUB jobs two\n", "OK\n");
    // Nothing is pushed any more: the next line the client reads is the reply to its PING.
    await c.roundtrip("PING\n", "PONG\n");
    assert.equal((await stats(h, "jobs")).backlog, 2n);
    assert.equal((await stats(h, "jobs")).consumers, 0);
    // Logging in again as alice does not bring the SUB back: it ended with pete's login.
    await c.roundtrip("AUTH alice s3cret\n", "OK authenticated\n");
    await c.roundtrip("PING\n", "PONG\n");
    assert.equal(c.buffered().length, 0);
    c.socket.destroy();
  });

  it("ohpq relogin - AUTH as the same user again keeps the SUB and the pending message as they are", async (t) => {
    const h = harness(t);
    await queueWith(h, "jobs", "one", "two");
    const c = h.connect();
    await c.roundtrip("AUTH alice s3cret\n", "OK authenticated\n");
    await c.roundtrip("SUB jobs\n", "OK subscribed\nMESSAGE jobs one\n");
    await c.roundtrip("AUTH alice s3cret\n", "OK authenticated\n");
    // Had the SUB been reopened, "one" would have been pushed again right after the AUTH reply.
    await c.roundtrip("ACK jobs\n", "OK\nMESSAGE jobs two\n");
    const jobs = await stats(h, "jobs");
    assert.deepEqual([jobs.backlog, jobs.inFlight], [1n, 1n]);
    c.socket.destroy();
  });
});
