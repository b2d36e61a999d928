/**
 * An independent check of the KV engine's tables (memory KV data), read byte by byte without the
 * engine's code: what every subscription holds against its counters, refcounts against holders,
 * topic heads against the log, and the lines of ordered subscriptions (one active message per
 * ordering key, the rest waiting behind it). Written for the randomized invariant test; the table
 * tags and layouts are the ones in src/store/engine/keys.ts.
 */
import { createHash } from "node:crypto";
import type { MemoryKvData } from "../../src/store/index.js";

const T = {
  Topic: 0x02,
  Head: 0x03,
  Message: 0x04,
  Ref: 0x05,
  Subscription: 0x09,
  Ready: 0x0b,
  Pending: 0x0c,
  Due: 0x0d,
  Counters: 0x0e,
  Snapshot: 0x11,
  SnapshotSeq: 0x12,
  RetainExpiry: 0x14,
  OrderLock: 0x1c,
  OrderWaiting: 0x1e,
  OrderEarly: 0x1f,
} as const;

const u64 = (b: Buffer, o: number) => b.readUInt32BE(o) * 0x1_0000_0000 + b.readUInt32BE(o + 4);

interface Entry {
  key: Buffer;
  value: Buffer;
}

/** What the checker knows of one subscription's holdings. */
interface Holding {
  where: "ready" | "pending" | "waiting";
  seq: number;
  /** A waiting entry's ordering key body (hex) and links. */
  body?: string;
  early?: boolean;
  prev?: number;
  next?: number;
}

/** The index body of an ordering key: [u16 length][bytes], or [0xffff][sha256] past 512 bytes. */
function keyBody(key: Buffer): string {
  if (key.length > 512)
    return Buffer.concat([Buffer.of(0xff, 0xff), createHash("sha256").update(key).digest()]).toString("hex");
  const len = Buffer.alloc(2);
  len.writeUInt16BE(key.length, 0);
  return Buffer.concat([len, key]).toString("hex");
}

/** The ordering key bytes of an encoded message (see message-codec.ts). */
function orderingKeyOf(raw: Buffer): Buffer {
  const idLen = raw.readUInt16BE(26);
  const keyLen = raw.readUInt16BE(28);
  const start = 32 + raw.readUInt16BE(30) * 6 + 4 + idLen;
  return raw.subarray(start, start + keyLen);
}

const publishTime = (raw: Buffer) => raw.readDoubleBE(2);
const dataBytes = (raw: Buffer) => raw.readUInt32BE(32 + raw.readUInt16BE(30) * 6);

/** A key's line record: the active seq and the first and last waiting seqs (0: none). */
interface LineRecord {
  seq: number;
  first: number;
  last: number;
}

interface SubRecord {
  name: string;
  topicId: number;
  ordered: boolean;
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
  const subs = new Map<number, SubRecord>();
  for (const e of tab(T.Subscription)) subs.set(e.key.readUInt32BE(1), JSON.parse(e.value.toString()) as SubRecord);
  const messages = new Map<string, Buffer>();
  for (const e of tab(T.Message)) messages.set(`${e.key.readUInt32BE(1)}/${u64(e.key, 5)}`, e.value);
  const holders = new Map<string, string[]>();
  const addHolder = (mk: string, who: string) => holders.set(mk, [...(holders.get(mk) ?? []), who]);
  const held = new Map<number, Map<number, Holding>>();
  const hold = (subId: number, h: Holding) => {
    const m = held.get(subId) ?? new Map<number, Holding>();
    held.set(subId, m);
    const before = m.get(h.seq);
    if (before) errs.push(`sub ${subId} seq ${h.seq} both ${before.where} and ${h.where}`);
    m.set(h.seq, h);
    const sub = subs.get(subId);
    if (!sub) {
      errs.push(`${h.where} entry of missing sub ${subId}`);
      return;
    }
    const mk = `${sub.topicId}/${h.seq}`;
    if (!messages.has(mk)) errs.push(`sub ${sub.name} ${h.where} seq ${h.seq}: message missing`);
    addHolder(mk, `sub:${sub.name}`);
  };
  for (const e of tab(T.Ready)) hold(e.key.readUInt32BE(1), { where: "ready", seq: u64(e.key, 6) });
  const dueKeys = new Set(tab(T.Due).map((e) => e.key.toString("hex")));
  const states = new Map<number, { leased: number; delayed: number }>();
  for (const e of tab(T.Pending)) {
    const subId = e.key.readUInt32BE(1);
    const seq = u64(e.key, 5);
    hold(subId, { where: "pending", seq });
    const s = states.get(subId) ?? { leased: 0, delayed: 0 };
    if (e.value[0] === 1) s.leased++;
    else s.delayed++;
    states.set(subId, s);
    const due = Buffer.alloc(21);
    due[0] = T.Due;
    due.writeUInt32BE(subId, 1);
    const d = Math.max(0, Math.ceil(e.value.readDoubleBE(1)));
    due.writeUInt32BE(Math.floor(d / 0x1_0000_0000), 5);
    due.writeUInt32BE((d % 0x1_0000_0000) >>> 0, 9);
    due.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 13);
    due.writeUInt32BE((seq % 0x1_0000_0000) >>> 0, 17);
    if (!dueKeys.has(due.toString("hex"))) errs.push(`sub ${subId} pending seq ${seq} without due key`);
  }
  const earlyMarks = new Set(tab(T.OrderEarly).map((e) => `${e.key.readUInt32BE(1)}/${u64(e.key, 5)}`));
  for (const e of tab(T.OrderWaiting)) {
    // [subId][seq] → [priority u8][attempts u32][early u8][deliverAt f64][prev f64][next f64][key body]
    const subId = e.key.readUInt32BE(1);
    const seq = u64(e.key, 5);
    const body = e.value.subarray(30).toString("hex");
    const early = e.value[5] === 1;
    hold(subId, { where: "waiting", seq, body, early, prev: e.value.readDoubleBE(14), next: e.value.readDoubleBE(22) });
    if (early !== earlyMarks.has(`${subId}/${seq}`))
      errs.push(`sub ${subId} waiting seq ${seq}: early flag ${early} but marker ${!early}`);
    earlyMarks.delete(`${subId}/${seq}`);
  }
  for (const mark of earlyMarks) errs.push(`early marker ${mark} without a waiting entry`);
  const heads = new Map<string, LineRecord>();
  for (const e of tab(T.OrderLock)) {
    const [seq, first, last] = [e.value.readDoubleBE(0), e.value.readDoubleBE(16), e.value.readDoubleBE(24)];
    heads.set(`${e.key.readUInt32BE(1)}/${e.key.subarray(5).toString("hex")}`, { seq, first, last });
  }

  const oldest = new Map<string, number>();
  for (const [id, sub] of subs) {
    const mine = held.get(id) ?? new Map<number, Holding>();
    const c = tab(T.Counters).find((e) => e.key.readUInt32BE(1) === id);
    const got = c ? [c.value.readDoubleBE(0), c.value.readDoubleBE(8), c.value.readDoubleBE(16)] : [0, 0, 0];
    const s = states.get(id) ?? { leased: 0, delayed: 0 };
    const want = [mine.size, s.leased, s.delayed];
    if (got.join() !== want.join())
      errs.push(`sub ${sub.name} counters [${got}] != held [${want}] (unacked incl. waiting)`);
    const minSeq = Math.min(...mine.keys());
    oldest.set(
      sub.name,
      Number.isFinite(minSeq) ? publishTime(messages.get(`${sub.topicId}/${minSeq}`) ?? Buffer.alloc(10)) : 0,
    );
    checkLines(errs, id, sub, mine, messages, heads);
  }
  for (const k of heads.keys()) errs.push(`order lock ${k} of a key with no message`);

  const snaps = new Map<number, { name: string; topicId: number }>();
  for (const e of tab(T.Snapshot)) snaps.set(e.key.readUInt32BE(1), JSON.parse(e.value.toString()));
  for (const e of tab(T.SnapshotSeq)) {
    const snap = snaps.get(e.key.readUInt32BE(1));
    if (!snap) {
      errs.push(`snapshot seq of missing snapshot ${e.key.readUInt32BE(1)}`);
      continue;
    }
    const mk = `${snap.topicId}/${u64(e.key, 5)}`;
    if (messages.has(mk)) addHolder(mk, `snap:${snap.name}`);
  }
  const refs = new Map<string, number>();
  for (const e of tab(T.Ref)) refs.set(`${e.key.readUInt32BE(1)}/${u64(e.key, 5)}`, e.value.readUInt32BE(0));
  const retained = new Set(tab(T.RetainExpiry).map((e) => `${e.key.readUInt32BE(9)}/${u64(e.key, 13)}`));
  for (const mk of messages.keys()) {
    const h = holders.get(mk) ?? [];
    const ref = refs.get(mk);
    if ((ref ?? 1) !== h.length) errs.push(`message ${mk}: Ref ${ref ?? "(none=1)"} but holders [${h}]`);
    if (h.length === 0 && !retained.has(mk)) errs.push(`message ${mk}: no holder and not retained (kept for ever)`);
  }
  for (const mk of refs.keys()) if (!messages.has(mk)) errs.push(`Ref ${mk} without message`);
  for (const e of tab(T.Topic)) {
    const id = e.key.readUInt32BE(1);
    const h = tab(T.Head).find((x) => x.key.readUInt32BE(1) === id);
    const [n, bytes] = h ? [h.value.readDoubleBE(8), h.value.readDoubleBE(16)] : [0, 0];
    let count = 0;
    let size = 0;
    for (const [mk, raw] of messages) {
      if (!mk.startsWith(`${id}/`)) continue;
      count++;
      size += dataBytes(raw);
    }
    if (n !== count || bytes !== size)
      errs.push(`topic ${id} head messages/bytes ${n}/${bytes} != log ${count}/${size}`);
  }
  return { errors: errs, oldestUnackedPublishMs: oldest };
}

/**
 * Ordered subscriptions: per ordering key exactly one active message (ready or pending) named by
 * the key's line record, every other message of the key waiting, linked from the line's first to
 * its last in seq order, with a higher seq than the active one unless marked early. Unordered
 * subscriptions have no waiting entries and no lines. Consumes the subscription's entries of `heads`.
 */
function checkLines(
  errs: string[],
  subId: number,
  sub: SubRecord,
  mine: Map<number, Holding>,
  messages: Map<string, Buffer>,
  heads: Map<string, LineRecord>,
): void {
  const lines = new Map<string, { active: number[]; waiting: Holding[] }>();
  for (const h of mine.values()) {
    const raw = messages.get(`${sub.topicId}/${h.seq}`);
    if (!raw) continue;
    const key = orderingKeyOf(raw);
    if (h.where === "waiting") {
      if (!sub.ordered) errs.push(`unordered sub ${sub.name} has waiting seq ${h.seq}`);
      if (key.length === 0 || keyBody(key) !== h.body)
        errs.push(`sub ${sub.name} waiting seq ${h.seq} under the wrong key`);
    }
    if (!sub.ordered || key.length === 0) continue;
    const body = keyBody(key);
    const line = lines.get(body) ?? { active: [], waiting: [] };
    if (h.where === "waiting") line.waiting.push(h);
    else line.active.push(h.seq);
    lines.set(body, line);
  }
  for (const [body, line] of lines) {
    const lock = heads.get(`${subId}/${body}`);
    heads.delete(`${subId}/${body}`);
    const [active, ...more] = line.active;
    if (active === undefined || more.length > 0) {
      errs.push(`sub ${sub.name} key ${body}: ${line.active.length} active messages [${line.active}]`);
      continue;
    }
    if (lock?.seq !== active) errs.push(`sub ${sub.name} key ${body}: line names ${lock?.seq}, active is ${active}`);
    const inOrder = line.waiting.map((h) => h.seq).sort((a, b) => a - b);
    const chain: number[] = [];
    for (let at = lock?.first ?? 0; at > 0 && chain.length <= inOrder.length; ) {
      chain.push(at);
      at = mine.get(at)?.next ?? 0;
    }
    if (chain.join() !== inOrder.join() || (lock?.last ?? 0) !== (inOrder[inOrder.length - 1] ?? 0)) {
      errs.push(`sub ${sub.name} key ${body}: list [${chain}] (last ${lock?.last}) != waiting [${inOrder}]`);
    }
    for (let i = 1; i < chain.length; i++) {
      if (mine.get(chain[i] as number)?.prev !== chain[i - 1])
        errs.push(`sub ${sub.name} key ${body}: prev of ${chain[i]}`);
    }
    for (const h of line.waiting) {
      // Early marks a superset (a mark stays until its message leaves waiting): never missing.
      if (h.seq < active && !h.early)
        errs.push(`sub ${sub.name} key ${body}: waiting ${h.seq} < active ${active}, not early`);
    }
  }
}
