/**
 * Randomized operations on the in-memory store (seeded, so a failure replays), checking after
 * every step the engine's table invariants (./invariants.ts): holdings against counters and
 * refcounts, and the per-key lines of ordered subscriptions; plus GetStats' oldest unacked, and
 * that no lease hands a message out twice. Two mixes of operations, each seeded alike. RUNS,
 * STEPS, ONLY (one run) and SHOW (print a run's log) env variables help debugging.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { BrokerError } from "../../src/errors/index.js";
import { createMemoryKvData, createMemoryStore, type Store, type SubscriptionSettings } from "../../src/store/index.js";
import { rec, subSettings, T0, topicSettings } from "./conformance/helpers.js";
import { checkInvariants } from "./invariants.js";

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RUNS = Number(process.env.RUNS ?? 300);
const STEPS = Number(process.env.STEPS ?? 80);
const ONLY = process.env.ONLY;
const LONG_KEY = "x".repeat(600);
const OPS = [
  ...["append", "append", "append", "lease", "lease", "lease", "lease", "ack", "ack", "ackId", "ackId", "nack", "nack"],
  ...["nack", "nackId", "extend", "advance", "advance", "advance", "seek", "seekTime", "snap", "delsnap"],
  ...["seekSnap", "sweep", "redrive", "redrive", "toggleC", "purge", "peek"],
] as const;
/** A second mix, with rejects, nacks to now and seeks near the end (the first mix's seeds stay as they were). */
const MORE_OPS = [...OPS, "reject", "nackNow", "nackNow", "seekNear"] as const;

/** One seeded run; returns the broken invariants (empty: fine) and the log of steps. */
async function run(
  seed: number,
  ops: readonly (typeof MORE_OPS)[number][],
): Promise<{ broken: string[]; log: string[] }> {
  const r = rng(seed * 7919 + 1);
  const filters: Record<string, string>[] = [{}, {}, { k: "1" }];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const int = (n: number) => Math.floor(r() * n);
  const data = createMemoryKvData();
  // The log tail (src/store/engine/log-tail.ts) at its default, off, and small enough that it
  // evicts and rests all the time; by seed, so the steps each seed draws stay the same.
  const store: Store = createMemoryStore(data, 1000, [undefined, 0, 2048][seed % 3]);
  let now = T0;
  const log: string[] = [];
  const topicOpts = {
    retainAckedMs: pick([0, 0, 500]),
    dedupScope: pick(["window", "unacked"] as const),
    overflow: pick(["reject", "drop_oldest"] as const),
    maxMessages: pick([0, 0, 5]),
    maxAgeMs: pick([0, 0, 800]),
  };
  log.push(`topic ${JSON.stringify(topicOpts)}`);
  await store.createTopic(topicSettings("t", topicOpts), now);
  await store.createTopic(topicSettings("dlq", { retainAckedMs: pick([0, 300]) }), now);
  await store.createSubscription(subSettings("d", "dlq", { filter: pick(filters), ordered: r() < 0.3 }), now);
  const subDefs: Record<string, Partial<SubscriptionSettings>> = {
    a: { maxDeliveryAttempts: 2, deadLetterTopic: "dlq", ordered: r() < 0.7 },
    b: { filter: { k: "1" }, ordered: true, maxDeliveryAttempts: pick([0, 2]), deadLetterTopic: "dlq" },
    c: {
      filter: pick<Record<string, string>>([{}, { k: "0" }]),
      ordered: r() < 0.7,
      start: pick([{ kind: "earliest" }, { kind: "latest" }]),
    },
  };
  const live = new Set<string>();
  for (const s of ["a", "b"]) {
    await store.createSubscription(subSettings(s, "t", subDefs[s]), now);
    live.add(s);
  }
  const tokens: Record<string, string[]> = { a: [], b: [], c: [], d: [] };
  const snaps: string[] = [];
  let idn = 0;
  const broken: string[] = [];
  for (let step = 0; step < STEPS && broken.length === 0; step++) {
    const subsNow = [...live, "d"];
    const op = pick(ops);
    let desc: string = op;
    try {
      switch (op) {
        case "append": {
          const recs = Array.from({ length: 1 + int(4) }, () => {
            const id = r() < 0.3 ? "" : `m${r() < 0.2 ? int(Math.max(1, idn)) : ++idn}`;
            return rec(id, {
              attributes: { k: String(int(2)) },
              priority: int(3),
              orderingKey: pick(["", "x", "xy", "y", LONG_KEY]),
              deliverAtMs: r() < 0.2 ? now + int(500) : 0,
              expireAtMs: r() < 0.2 ? now + 1 + int(600) : 0,
              data: Buffer.alloc(int(10)),
            });
          });
          desc += ` ${JSON.stringify(recs.map((x) => [x.id, x.attributes.k, x.orderingKey.slice(0, 3), x.priority, x.deliverAtMs && x.deliverAtMs - now, x.expireAtMs && x.expireAtMs - now]))}`;
          await store.append("t", recs, now);
          break;
        }
        case "lease": {
          const s = pick(subsNow);
          const got = await store.lease(s, { max: 1 + int(3), leaseMs: 1 + int(400), nowMs: now, autoAck: r() < 0.1 });
          desc += ` ${s} -> ${got.map((g) => `${g.message.seq}@${g.attempt}`)}`;
          const seqs = new Set(got.map((g) => g.message.seq));
          if (seqs.size !== got.length) broken.push(`step ${step} lease ${s} handed a message out twice`);
          tokens[s]?.push(...got.map((g) => g.token).filter((t) => t !== ""));
          break;
        }
        case "peek": {
          const s = pick(subsNow);
          desc += ` ${s} -> ${(await store.peek(s, 3, now)).map((g) => g.message.seq)}`;
          break;
        }
        case "ack":
        case "nack":
        case "extend": {
          const s = pick(subsNow);
          const mine = tokens[s] ?? [];
          if (mine.length === 0) break;
          const t = mine.splice(int(mine.length), 1);
          desc += ` ${s} ${t}`;
          const targets = { tokens: t, messageIds: [] };
          if (op === "ack") desc += ` ${await store.ack(s, targets, now)}`;
          else if (op === "nack") {
            const at = now + (r() < 0.5 ? 0 : int(300));
            desc += ` ${await store.nack(s, targets, at, now, { failed: r() < 0.8 })}`;
          } else {
            desc += ` ${await store.extend(s, t, now + int(400), now)}`;
            mine.push(...t);
          }
          break;
        }
        case "ackId":
        case "nackId": {
          // By message id: reaches messages waiting behind their key too.
          const s = pick(subsNow);
          const targets = { tokens: [], messageIds: [`m${Math.max(1, idn - int(8))}`] };
          desc += ` ${s} ${targets.messageIds}`;
          if (op === "ackId") desc += ` ${await store.ack(s, targets, now)}`;
          else desc += ` ${await store.nack(s, targets, now + int(300), now, { failed: r() < 0.5 })}`;
          break;
        }
        case "reject": {
          const s = pick(subsNow);
          const mine = tokens[s] ?? [];
          if (mine.length === 0) break;
          const t = mine.splice(int(mine.length), 1);
          desc += ` ${s} ${t} ${JSON.stringify(await store.reject(s, t, now, "bad"))}`;
          break;
        }
        case "nackNow": {
          const s = pick(subsNow);
          const targets = { tokens: [], messageIds: [`m${Math.max(1, idn - int(8))}`] };
          desc += ` ${s} ${targets.messageIds} ${await store.nack(s, targets, now, now, { failed: false })}`;
          break;
        }
        case "seekNear": {
          const s = pick([...live]);
          if (!s) break;
          const seq = Math.max(1, (await store.topicCounters("t")).lastSeq - int(5));
          desc += ` ${s} seq ${seq}`;
          await store.seek(s, { kind: "seq", seq }, now);
          break;
        }
        case "advance":
          now += int(300);
          desc += ` now=+${now - T0}`;
          break;
        case "seek": {
          const s = pick([...live]);
          if (!s) break;
          const seq = 1 + int((await store.topicCounters("t")).lastSeq + 1);
          desc += ` ${s} seq ${seq}`;
          await store.seek(s, { kind: "seq", seq }, now);
          break;
        }
        case "seekTime": {
          const s = pick([...live]);
          if (!s) break;
          desc += ` ${s}`;
          await store.seek(s, { kind: "time", timeMs: now - int(1000) }, now);
          break;
        }
        case "snap": {
          const s = pick([...live]);
          if (!s) break;
          const name = `s${step}`;
          await store.createSnapshot(name, s, now);
          snaps.push(name);
          desc += ` ${name} of ${s}`;
          break;
        }
        case "delsnap": {
          const name = snaps.splice(int(snaps.length), 1)[0];
          if (name === undefined) break;
          await store.deleteSnapshot(name, now);
          desc += ` ${name}`;
          break;
        }
        case "seekSnap": {
          const s = pick([...live]);
          if (!s || snaps.length === 0) break;
          const name = pick(snaps);
          desc += ` ${s} to ${name}`;
          await store.seek(s, { kind: "snapshot", name }, now);
          break;
        }
        case "sweep":
          desc += ` ${JSON.stringify(await store.sweepRetention(now, 1 + int(20)))}`;
          break;
        case "redrive": {
          const s = pick(["a", "b"].filter((x) => live.has(x)));
          if (!s) break;
          const untilSeq = (await store.topicCounters("dlq")).lastSeq;
          const o = { maxMessages: 1 + int(5), filter: {}, afterSeq: 0, untilSeq, maxScan: 100 };
          desc += ` ${s} ${JSON.stringify(await store.redrive(s, o, now))}`;
          break;
        }
        case "toggleC":
          if (live.has("c")) {
            await store.deleteSubscription("c");
            live.delete("c");
            tokens.c = [];
            desc += " delete";
          } else {
            await store.createSubscription(subSettings("c", "t", subDefs.c), now);
            live.add("c");
            desc += " create";
          }
          break;
        case "purge":
          if (r() < 0.05) {
            await store.purgeTopic("t");
            desc += " done";
          } else desc += " skipped";
          break;
      }
    } catch (e) {
      if (!(e instanceof BrokerError) || e.reason === "INTERNAL") broken.push(`step ${step} ${op} threw ${e}`);
      desc += ` (${e instanceof BrokerError ? e.reason : e})`;
    }
    log.push(`${step}: ${desc}`);
    const report = checkInvariants(data);
    broken.push(...report.errors);
    for (const s of [...live, "d"]) {
      const got = (await store.subscriptionCounters(s)).oldestUnackedPublishMs;
      const want = report.oldestUnackedPublishMs.get(s);
      if (got !== want) broken.push(`sub ${s}: oldest unacked ${got}, held ${want}`);
    }
  }
  await store.close();
  return { broken, log };
}

for (const [mix, ops] of [
  ["", OPS],
  [", with rejects, nacks to now and seeks near the end", MORE_OPS],
] as const) {
  it(`store invariants hold after every step of seeded random operations (memory KV)${mix}`, async () => {
    const failed: string[] = [];
    for (let seed = 0; seed < RUNS; seed++) {
      if (ONLY !== undefined && Number(ONLY) !== seed) continue;
      const { broken, log } = await run(seed, ops);
      if (process.env.SHOW !== undefined && Number(process.env.SHOW) === seed) console.log(log.join("\n"));
      if (broken.length > 0 && failed.length < 3) {
        failed.push(`seed ${seed}:\n  ${broken.join("\n  ")}\n--- last steps:\n${log.slice(-30).join("\n")}`);
      }
    }
    assert.deepEqual(failed, []);
  });
}
