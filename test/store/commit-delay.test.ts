/**
 * The commit delay at the store (README "Durability"): while Publishes come often, an Ack waits
 * for the next one and shares its transaction; it is answered only once that transaction is
 * committed and synced, and what it acked stays acked after a restart.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { openLmdbStore, type Store } from "../../src/store/index.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";
import { createQueue, lease, recs, seqsOf, T0, tokensOf } from "./conformance/helpers.js";

const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

it("commit delay - an Ack rides the next Publish's transaction, is answered after it, and survives a restart", async () => {
  const path = await mkdtemp(join(tmpdir(), "switchyard-commit-delay-"));
  let kv: LmdbKv | undefined;
  const open = () =>
    openLmdbStore({
      path,
      mapSizeBytes: 64 * 1024 * 1024,
      // Far longer than the test: an Ack that waited for it would time the test out.
      ackCommitDelayMs: 60_000,
      commitDelayMs: 0,
      wrapKv: (k) => {
        if (k instanceof LmdbKv) kv = k;
        return k;
      },
    });
  const opened: Store[] = [];
  try {
    const store = await open();
    opened.push(store);
    await createQueue(store, "q");
    await store.append("q", recs(2), T0);
    const leased = await lease(store, "q", 2, T0);
    assert.deepEqual(seqsOf(leased), [1, 2]);

    // A Publish was just written, so Publishes count as frequent: the Ack waits for the next one.
    const before = kv?.counts();
    let answered = false;
    const ack = store.ack("q", { tokens: [tokensOf(leased)[0] ?? ""], messageIds: [] }, T0 + 1).then((outcomes) => {
      answered = true;
      return outcomes;
    });
    for (let i = 0; i < 5; i++) await nextImmediate();
    assert.equal(answered, false, "the Ack is held for the next Publish");
    const publish = store.append("q", recs(1, "later"), T0 + 2);
    const [outcomes] = await Promise.all([ack, publish]);
    assert.deepEqual(outcomes, ["ok"]);
    const after = kv?.counts();
    assert.ok(before && after);
    assert.equal(after.writes - before.writes, 2, "the Ack and the Publish");
    assert.equal(after.batches - before.batches, 1, "in one transaction");

    await store.close();
    const reopened = await open();
    opened.push(reopened);
    // After the restart the acked message is gone; the unacked one and the new one come again.
    assert.deepEqual(seqsOf(await lease(reopened, "q", 10, T0 + 3)), [2, 3]);
  } finally {
    for (const s of opened) await s.close();
    await rm(path, { recursive: true, force: true });
  }
});

it("commit delay - an Ack on an ordered subscription is not held: the key's next message waits for it", async () => {
  const path = await mkdtemp(join(tmpdir(), "switchyard-commit-delay-"));
  const store = await openLmdbStore({
    path,
    mapSizeBytes: 64 * 1024 * 1024,
    // Far longer than the test: an Ack that waited for it would time the test out.
    ackCommitDelayMs: 60_000,
    commitDelayMs: 0,
  });
  try {
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", recs(1), T0);
    const leased = await lease(store, "q", 1, T0);
    assert.deepEqual(seqsOf(leased), [1]);
    // A Publish was just written, so Publishes count as frequent; the Ack still goes at once.
    await store.append("q", recs(1, "next"), T0 + 1);
    const ack = store.ack("q", { tokens: tokensOf(leased), messageIds: [] }, T0 + 2);
    // Held, it would wait the 60 s delay (no Publish follows); a synced commit takes milliseconds.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"held">((resolve) => {
      timer = setTimeout(() => resolve("held"), 5_000);
    });
    const outcomes = await Promise.race([ack, late]);
    clearTimeout(timer);
    assert.deepEqual(outcomes, ["ok"]);
  } finally {
    await store.close();
    await rm(path, { recursive: true, force: true });
  }
});
