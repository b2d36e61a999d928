import { BrokerError } from "../../errors/index.js";
import type { KvReader, KvWriter } from "../kv/kv.js";
import type { SubscriptionRecord, TopicRecord } from "../store.js";
import { decodeF64s, decodeU32, encodeF64s, encodeU32, idKey, seqKey, stringKey, Table } from "./keys.js";

/** Head of a topic's log. */
export interface Head {
  lastSeq: number;
  messages: number;
  bytes: number;
}

/** Per-subscription counters kept in the store. */
export interface Counters {
  unacked: number;
  inFlight: number;
  delayed: number;
}

/** A leased or delayed message of one subscription. */
export interface Pending {
  state: "leased" | "delayed";
  dueMs: number;
  attempt: number;
  priority: number;
}

export function findTopic(r: KvReader, name: string): TopicRecord | undefined {
  const id = r.get(stringKey(Table.TopicName, name));
  if (!id) return undefined;
  return topicById(r, id.readUInt32BE(0));
}

export function topicById(r: KvReader, id: number): TopicRecord | undefined {
  const raw = r.get(idKey(Table.Topic, id));
  return raw ? (JSON.parse(raw.toString()) as TopicRecord) : undefined;
}

export function requireTopic(r: KvReader, name: string): TopicRecord {
  const t = findTopic(r, name);
  if (!t) throw new BrokerError("TOPIC_NOT_FOUND", `topic "${name}" does not exist`, { metadata: { topic: name } });
  return t;
}

export function putTopic(w: KvWriter, t: TopicRecord): void {
  w.put(idKey(Table.Topic, t.id), Buffer.from(JSON.stringify(t)));
}

export function findSubscription(r: KvReader, name: string): SubscriptionRecord | undefined {
  const id = r.get(stringKey(Table.SubscriptionName, name));
  if (!id) return undefined;
  return subscriptionById(r, id.readUInt32BE(0));
}

export function subscriptionById(r: KvReader, id: number): SubscriptionRecord | undefined {
  const raw = r.get(idKey(Table.Subscription, id));
  return raw ? (JSON.parse(raw.toString()) as SubscriptionRecord) : undefined;
}

export function requireSubscription(r: KvReader, name: string): SubscriptionRecord {
  const s = findSubscription(r, name);
  if (!s) {
    throw new BrokerError("SUBSCRIPTION_NOT_FOUND", `subscription "${name}" does not exist`, {
      metadata: { subscription: name },
    });
  }
  return s;
}

export function putSubscription(w: KvWriter, s: SubscriptionRecord): void {
  w.put(idKey(Table.Subscription, s.id), Buffer.from(JSON.stringify(s)));
}

/** Allocates the next id of a kind ("topic", "subscription"); ids start at 1 and never repeat. */
export function allocateId(w: KvWriter, kind: string): number {
  const key = stringKey(Table.IdAllocator, kind);
  const next = decodeU32(w.get(key)) + 1;
  w.put(key, encodeU32(next));
  return next;
}

export function readHead(r: KvReader, topicId: number): Head {
  const [lastSeq = 0, messages = 0, bytes = 0] = decodeF64s(r.get(idKey(Table.Head, topicId)), 3);
  return { lastSeq, messages, bytes };
}

export function writeHead(w: KvWriter, topicId: number, h: Head): void {
  w.put(idKey(Table.Head, topicId), encodeF64s(h.lastSeq, h.messages, h.bytes));
}

export function readCounters(r: KvReader, subId: number): Counters {
  const [unacked = 0, inFlight = 0, delayed = 0] = decodeF64s(r.get(idKey(Table.Counters, subId)), 3);
  return { unacked, inFlight, delayed };
}

export function writeCounters(w: KvWriter, subId: number, c: Counters): void {
  w.put(idKey(Table.Counters, subId), encodeF64s(c.unacked, c.inFlight, c.delayed));
}

const PENDING_LEASED = 1;
const PENDING_DELAYED = 2;

export function encodePending(p: Pending): Buffer {
  const b = Buffer.allocUnsafe(14);
  b[0] = p.state === "leased" ? PENDING_LEASED : PENDING_DELAYED;
  b.writeDoubleBE(p.dueMs, 1);
  b.writeUInt32BE(p.attempt, 9);
  b[13] = p.priority;
  return b;
}

export function decodePending(b: Buffer): Pending {
  return {
    state: b[0] === PENDING_LEASED ? "leased" : "delayed",
    dueMs: b.readDoubleBE(1),
    attempt: b.readUInt32BE(9),
    priority: b[13] as number,
  };
}

export function getPending(r: KvReader, subId: number, seq: number): Pending | undefined {
  const raw = r.get(seqKey(Table.Pending, subId, seq));
  return raw ? decodePending(raw) : undefined;
}

/** A parsed lease token: `<subId>-<seq>-<attempt>-<priority>` in base 36. */
export interface LeaseToken {
  subId: number;
  seq: number;
  attempt: number;
  priority: number;
}

const TOKEN = /^([0-9a-z]{1,7})-([0-9a-z]{1,11})-([0-9a-z]{1,7})-([0-9])$/;

export function formatToken(t: LeaseToken): string {
  return `${t.subId.toString(36)}-${t.seq.toString(36)}-${t.attempt.toString(36)}-${t.priority}`;
}

export function parseToken(s: string): LeaseToken | undefined {
  const m = TOKEN.exec(s);
  if (!m) return undefined;
  const t = {
    subId: Number.parseInt(m[1] as string, 36),
    seq: Number.parseInt(m[2] as string, 36),
    attempt: Number.parseInt(m[3] as string, 36),
    priority: Number.parseInt(m[4] as string, 10),
  };
  return Number.isSafeInteger(t.seq) && t.seq > 0 && t.attempt > 0 ? t : undefined;
}

/** Reads a message id index entry: the seq and publish time of the id's message. */
export function readMessageIdEntry(
  raw: Buffer | undefined,
): { seq: number; publishMs: number; expireMs: number } | undefined {
  if (!raw) return undefined;
  return { seq: raw.readDoubleBE(0), publishMs: raw.readDoubleBE(8), expireMs: raw.readDoubleBE(16) };
}
