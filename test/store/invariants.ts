/**
 * An independent check of the KV engine's tables (memory KV data, store format 3), read byte by
 * byte without the engine's code: what each cursor holds (from its floors, acked ranges, filter)
 * against its unacked counter; every stored message is held by a cursor or a snapshot, kept
 * for replay, or released (nobody holds it: gone for readers, its entries wait for the trim) and
 * then held by nobody; topic heads against the live log (released messages not counted); the lane, delay and TTL indexes against the messages
 * they index. Written for the randomized invariant test; the table tags and layouts are the ones
 * in src/store/engine/keys.ts, cursor-store.ts and message-codec.ts.
 */
import type { MemoryKvData } from "../../src/store/index.js";

const T = {
  Topic: 0x02,
  Head: 0x03,
  Message: 0x04,
  Lane: 0x05,
  Subscription: 0x09,
  Cursor: 0x0b,
  AckRange: 0x0c,
  MsgState: 0x0d,
  TopicDue: 0x0e,
  Snapshot: 0x11,
  SnapshotRange: 0x12,
  RetainExpiry: 0x14,
  TtlExpiry: 0x16,
  Job: 0x17,
  Released: 0x18,
} as const;

const u64 = (b: Buffer, o: number) => b.readUInt32BE(o) * 0x1_0000_0000 + b.readUInt32BE(o + 4);

interface Entry {
  key: Buffer;
  value: Buffer;
}

/** A stored message as the checker reads it (message-codec.ts, version 2). */
interface Msg {
  topicId: number;
  seq: number;
  priority: number;
  publishMs: number;
  deliverAtMs: number;
  expireAtMs: number;
  onlyFor: number;
  dataBytes: number;
  attributes: Record<string, string>;
}

function decode(topicId: number, seq: number, v: Buffer): Msg {
  const attrCount = v.readUInt16BE(35);
  let o = 37;
  const lens: number[] = [];
  for (let i = 0; i < attrCount; i++) {
    lens.push(v.readUInt16BE(o), v.readUInt32BE(o + 2));
    o += 6;
  }
  const dataBytes = v.readUInt32BE(o);
  o += 4 + v.readUInt16BE(31) + v.readUInt16BE(33);
  const attributes: Record<string, string> = {};
  for (let i = 0; i < lens.length; i += 2) {
    const k = v.toString("utf8", o, o + (lens[i] as number));
    o += lens[i] as number;
    attributes[k] = v.toString("utf8", o, o + (lens[i + 1] as number));
    o += lens[i + 1] as number;
  }
  return {
    topicId,
    seq,
    priority: v[1] as number,
    publishMs: v.readDoubleBE(3),
    deliverAtMs: v.readDoubleBE(11),
    expireAtMs: v.readDoubleBE(19),
    onlyFor: v.readUInt32BE(27),
    dataBytes,
    attributes,
  };
}

/** A cursor (or snapshot) as stored: per lane a floor and acked ranges, plus a filter. */
interface AckView {
  name: string;
  id: number;
  topicId: number;
  floors: number[];
  ranges: Array<Array<[number, number]>>;
  filter: Record<string, string>;
  /** Snapshots: only seqs up to it. */
  lastSeq: number;
}

function holds(v: AckView, m: Msg): boolean {
  if (m.topicId !== v.topicId || m.seq > v.lastSeq) return false;
  if (m.seq < (v.floors[m.priority] ?? 1)) return false;
  if ((v.ranges[m.priority] ?? []).some(([a, b]) => m.seq >= a && m.seq <= b)) return false;
  if (m.onlyFor !== 0 && m.onlyFor !== v.id) return false;
  return Object.entries(v.filter).every(([k, val]) => m.attributes[k] === val);
}

/** The result of a check: broken invariants, and what GetStats' oldest unacked should say per subscription. */
export interface InvariantReport {
  errors: string[];
  oldestUnackedPublishMs: Map<string, number>;
}

/** Checks every invariant; an empty `errors` means the tables are consistent. */
export function checkInvariants(data: MemoryKvData): InvariantReport {
  const errs: string[] = [];
  const all: Entry[] = data.keys.map((k) => ({ key: Buffer.from(k, "latin1"), value: data.values.get(k) as Buffer }));
  const tab = (t: number) => all.filter((e) => e.key[0] === t);
  const heads = new Map<number, { lastSeq: number; messages: number; bytes: number; logStart: number }>();
  for (const e of tab(T.Head)) {
    const f = (i: number) => e.value.readDoubleBE(i * 8);
    heads.set(e.key.readUInt32BE(1), { lastSeq: f(0), messages: f(1), bytes: f(2), logStart: f(3) || 1 });
  }
  const msgs: Msg[] = [];
  for (const e of tab(T.Message)) {
    // The empty entry after each topic's log (keys.ts logEndKey) is no message.
    if (e.value.length === 0) {
      if (!e.key.subarray(5).equals(Buffer.alloc(8, 0xff))) errs.push(`empty message ${e.key.toString("hex")}`);
      continue;
    }
    msgs.push(decode(e.key.readUInt32BE(1), u64(e.key, 5), e.value));
  }
  // Released ranges per topic: [topicId][start u64] → end u64.
  const released = new Map<number, Array<[number, number]>>();
  for (const e of tab(T.Released)) {
    const id = e.key.readUInt32BE(1);
    const [a, b] = [u64(e.key, 5), u64(e.value, 0)];
    if (b < a) errs.push(`topic ${id}: released range ${a}..${b} is empty`);
    if (a < (heads.get(id)?.logStart ?? 1)) errs.push(`topic ${id}: released range ${a}..${b} below the log start`);
    released.set(id, [...(released.get(id) ?? []), [a, b]]);
  }
  const isReleased = (m: Msg) => (released.get(m.topicId) ?? []).some(([a, b]) => m.seq >= a && m.seq <= b);
  const live = (m: Msg) => m.seq >= (heads.get(m.topicId)?.logStart ?? 1) && !isReleased(m);

  // Cursors, from their records and ranges.
  const ranges = new Map<string, Array<[number, number]>>();
  for (const e of tab(T.AckRange)) {
    const k = `${e.key.readUInt32BE(1)}/${e.key[5]}`;
    ranges.set(k, [...(ranges.get(k) ?? []), [u64(e.key, 6), u64(e.value, 0)]]);
  }
  const cursors: Array<AckView & { unacked: number; counting: boolean }> = [];
  for (const e of tab(T.Subscription)) {
    const rec = JSON.parse(e.value.toString()) as {
      id: number;
      name: string;
      topicId: number;
      filter: Record<string, string>;
    };
    const cur = tab(T.Cursor).find((c) => c.key.readUInt32BE(1) === rec.id);
    if (!cur) {
      errs.push(`subscription ${rec.name} has no cursor record`);
      continue;
    }
    const floors = Array.from({ length: 10 }, (_, p) => cur.value.readDoubleBE(33 + p * 16));
    const countTo = cur.value.readDoubleBE(25);
    const view = {
      name: rec.name,
      id: rec.id,
      topicId: rec.topicId,
      floors,
      ranges: floors.map((_, p) => ranges.get(`${rec.id}/${p}`) ?? []),
      filter: rec.filter ?? {},
      lastSeq: Number.POSITIVE_INFINITY,
      unacked: cur.value.readDoubleBE(1),
      counting: countTo >= cur.value.readDoubleBE(17) && countTo > 0,
    };
    view.ranges.forEach((rs, p) => {
      const sorted = [...rs].sort((a, b) => a[0] - b[0]);
      for (let i = 0; i < sorted.length; i++) {
        const [a, b] = sorted[i] as [number, number];
        if (b < a) errs.push(`sub ${rec.name} lane ${p}: range ${a}..${b} is empty`);
        if (a < (floors[p] as number))
          errs.push(`sub ${rec.name} lane ${p}: range ${a}..${b} below floor ${floors[p]}`);
        const prev = sorted[i - 1];
        if (prev && prev[1] + 1 >= a) errs.push(`sub ${rec.name} lane ${p}: ranges ${prev} and ${a}..${b} touch`);
      }
    });
    cursors.push(view);
  }
  for (const e of tab(T.MsgState)) {
    const subId = e.key.readUInt32BE(1);
    const seq = u64(e.key, 5);
    const c = cursors.find((x) => x.id === subId);
    const m = msgs.find((x) => c && x.topicId === c.topicId && x.seq === seq && live(x));
    if (!c || !m || !holds(c, m)) errs.push(`message state of sub ${subId} seq ${seq} for a message it does not hold`);
  }

  const snapRanges = new Map<string, Array<[number, number]>>();
  for (const e of tab(T.SnapshotRange)) {
    const k = `${e.key.readUInt32BE(1)}/${e.key[5]}`;
    snapRanges.set(k, [...(snapRanges.get(k) ?? []), [u64(e.key, 6), u64(e.value, 0)]]);
  }
  const snaps: AckView[] = tab(T.Snapshot).map((e) => {
    const s = JSON.parse(e.value.toString()) as {
      id: number;
      name: string;
      topicId: number;
      subId: number;
      filter: Record<string, string>;
      floors: number[];
      lastSeq: number;
    };
    return {
      name: `snap:${s.name}`,
      id: s.subId,
      topicId: s.topicId,
      floors: s.floors,
      ranges: s.floors.map((_, p) => snapRanges.get(`${s.id}/${p}`) ?? []),
      filter: s.filter,
      lastSeq: s.lastSeq,
    };
  });

  const retained = new Set(tab(T.RetainExpiry).map((e) => `${e.key.readUInt32BE(9)}/${u64(e.key, 13)}`));
  const jobs = tab(T.Job).map(
    (e) => JSON.parse(e.value.toString()) as { topicId?: number; fromSeq?: number; toSeq?: number },
  );
  const inJob = (m: Msg) =>
    jobs.some((j) => j.topicId === m.topicId && m.seq >= (j.fromSeq ?? 0) && m.seq <= (j.toSeq ?? -1));
  const oldest = new Map<string, number>();
  for (const c of cursors) {
    const mine = msgs.filter((m) => live(m) && holds(c, m));
    if (!c.counting && mine.length !== c.unacked) {
      errs.push(`sub ${c.name}: unacked counter ${c.unacked} != held [${mine.map((m) => m.seq)}]`);
    }
    const first = mine.reduce<Msg | undefined>((a, m) => (a && a.seq < m.seq ? a : m), undefined);
    oldest.set(c.name, first ? first.publishMs : 0);
  }
  for (const m of msgs) {
    if (isReleased(m) && m.seq >= (heads.get(m.topicId)?.logStart ?? 1)) {
      const holder = [...cursors, ...snaps].find((v) => holds(v, m));
      if (holder) errs.push(`message ${m.topicId}/${m.seq}: released but held by ${holder.name}`);
    }
    if (!live(m)) continue;
    const held = [...cursors, ...snaps].some((v) => holds(v, m));
    if (!held && !retained.has(`${m.topicId}/${m.seq}`) && !inJob(m)) {
      errs.push(`message ${m.topicId}/${m.seq}: held by nobody and not retained (kept for ever)`);
    }
  }
  for (const e of tab(T.Topic)) {
    const id = e.key.readUInt32BE(1);
    const h = heads.get(id);
    const mine = msgs.filter((m) => m.topicId === id && live(m));
    const bytes = mine.reduce((n, m) => n + m.dataBytes, 0);
    if (!h || h.messages !== mine.length || h.bytes !== bytes)
      errs.push(`topic ${id} head messages/bytes ${h?.messages}/${h?.bytes} != log ${mine.length}/${bytes}`);
    for (const m of mine) if (m.seq > (h?.lastSeq ?? 0)) errs.push(`topic ${id} seq ${m.seq} past lastSeq`);
  }
  // Indexes against the messages they index (both ways).
  const indexed = (
    table: number,
    want: (m: Msg) => boolean,
    keyOf: (m: Msg) => string,
    parse: (k: Buffer) => string,
  ) => {
    const keys = new Set(tab(table).map((e) => parse(e.key)));
    for (const m of msgs) if (want(m) && !keys.has(keyOf(m))) errs.push(`table ${table}: no entry for ${keyOf(m)}`);
    const expected = new Set(msgs.filter(want).map(keyOf));
    for (const k of keys) if (!expected.has(k)) errs.push(`table ${table}: entry ${k} of no message`);
  };
  indexed(
    T.Lane,
    (m) => m.priority > 0,
    (m) => `${m.topicId}/${m.priority}/${m.seq}`,
    (k) => `${k.readUInt32BE(1)}/${255 - (k[5] as number)}/${u64(k, 6)}`,
  );
  indexed(
    T.TopicDue,
    (m) => m.deliverAtMs > 0 && !isReleased(m), // a released message's delay entry goes at its release
    (m) => `${m.topicId}/${Math.ceil(m.deliverAtMs)}/${m.seq}`,
    (k) => `${k.readUInt32BE(1)}/${u64(k, 5)}/${u64(k, 13)}`,
  );
  const ttlKeys = new Set(tab(T.TtlExpiry).map((e) => `${e.key.readUInt32BE(9)}/${u64(e.key, 13)}`));
  for (const m of msgs) {
    // A released message's TTL entry goes at its release (its other entries with the trim).
    if (m.expireAtMs > 0 && !isReleased(m) && !ttlKeys.has(`${m.topicId}/${m.seq}`))
      errs.push(`message ${m.topicId}/${m.seq}: no TTL entry`);
  }
  return { errors: errs, oldestUnackedPublishMs: oldest };
}
