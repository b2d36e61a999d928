import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { settled } from "../../test/helpers/settled.js";
import { createLocalNotifier } from "./notifier.js";

describe("notifier", () => {
  it("notifier - a notify wakes every waiter of its channel and no other", async () => {
    const n = createLocalNotifier();
    const ac = new AbortController();
    const a = n.waitFor("a", n.version("a"), ac.signal);
    const b = n.waitFor("b", n.version("b"), ac.signal);
    n.notify("a");
    assert.equal(await settled(a), true);
    assert.equal(await settled(b), false);
    ac.abort(new Error("done"));
    await assert.rejects(b, /done/);
  });

  it("notifier - watch wakes once on a notify; stopped or already changed, it never wakes and holds nothing", () => {
    const n = createLocalNotifier();
    let woken = 0;
    const stop = n.watch("a", n.version("a"), () => woken++);
    assert.ok(stop);
    n.notify("a");
    n.notify("a");
    assert.equal(woken, 1);
    stop(); // after the wake: harmless
    const seen = n.version("a");
    const stopped = n.watch("a", seen, () => woken++);
    stopped?.();
    n.notify("a");
    assert.equal(woken, 1);
    assert.equal(
      n.watch("a", seen, () => woken++),
      undefined,
      "the version moved: nothing registered",
    );
    n.forget("a");
    assert.equal(n.channels(), 0);
  });

  it("notifier - aborted waits leave no state behind", async () => {
    const n = createLocalNotifier();
    for (let i = 0; i < 5000; i++) {
      const ac = new AbortController();
      const p = n.waitFor(`stream-${i}`, n.version(`stream-${i}`), ac.signal);
      ac.abort(new Error("gone"));
      await assert.rejects(p, /gone/);
    }
    assert.equal(n.channels(), 0);
  });

  it("notifier - channels nobody waits on are swept: memory stays bounded", () => {
    const n = createLocalNotifier({ maxIdleChannels: 100 });
    for (let i = 0; i < 100_000; i++) n.notify(`stream-${i}`);
    assert.ok(n.channels() <= 100 + 1024 + 1, `channels held: ${n.channels()}`);
  });

  it("notifier - forget drops an ended stream's channel", () => {
    const n = createLocalNotifier();
    n.notify("stream-1");
    n.forget("stream-1");
    assert.equal(n.channels(), 0);
  });

  it("notifier - property: a notify after a version read is never missed, whatever is swept or forgotten", async () => {
    type Op = { kind: "notify" | "forget"; channel: number } | { kind: "flood" };
    const op = fc.oneof(
      fc.record({
        kind: fc.constantFrom("notify" as const, "forget" as const),
        channel: fc.integer({ min: 0, max: 3 }),
      }),
      fc.constant({ kind: "flood" as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), fc.array(op, { maxLength: 30 }), async (before, between) => {
        const n = createLocalNotifier({ maxIdleChannels: 8 });
        let floodId = 0;
        const apply = (o: Op) => {
          if (o.kind === "flood") for (let i = 0; i < 2000; i++) n.notify(`flood-${floodId++}`);
          else if (o.kind === "notify") n.notify(`c${o.channel}`);
          else n.forget(`c${o.channel}`);
        };
        before.forEach(apply);
        const seen = n.version("c0");
        between.forEach(apply);
        const changed = between.some((o) => o.kind === "notify" && o.channel === 0);
        const ac = new AbortController();
        const wait = n.waitFor("c0", seen, ac.signal);
        const woke = await settled(wait);
        ac.abort(new Error("end"));
        await wait.catch(() => {});
        // A notify of c0 after the read must wake at once (a spurious wake-up is allowed).
        if (changed) assert.equal(woke, true);
        // With nothing at all between the read and the wait, nothing wakes.
        if (between.length === 0) assert.equal(woke, false);
      }),
      { numRuns: 300 },
    );
  });
});
