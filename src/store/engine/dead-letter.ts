import { BrokerError } from "../../errors/index.js";
import { jitterFraction, retryBackoffMs } from "../../util/backoff.js";
import { DEAD_LETTER_ATTRIBUTES as A, type DeadLetterReason } from "../dead-letters.js";
import type { KvReader, KvWriter } from "../kv/kv.js";
import type { AppendRecord, SubscriptionRecord, TopicRecord } from "../store.js";
import { appendRecords, keepsMessage, topicSubscriptionIds } from "./append.js";
import { fanOutTargets, matchingSubIds } from "./fan-out.js";
import { decodeF64s, dueKey, encodeF64s, encodeU32, idKey, readyKey, seqKey, Table } from "./keys.js";
import { decodeMessage } from "./message-codec.js";
import { leftSubscription } from "./ordering.js";
import {
  type Counters,
  encodePending,
  findTopic,
  type Pending,
  readCounters,
  readHead,
  subscriptionById,
  topicById,
  writeCounters,
  writeHead,
} from "./records.js";
import { releaseMessage } from "./retention.js";

const EMPTY = Buffer.alloc(0);

/**
 * Where the messages of a subscription go once they used up `max_delivery_attempts`: dropped
 * (no dead-letter topic set), the dead-letter topic, or kept in place when the dead-letter topic
 * is set but cannot take them (deleted, or without any subscription, or every subscription's
 * filter refuses the dead letter, so an append would store nothing): a message is never lost
 * because its dead-letter topic is missing or would not keep it.
 */
type Route = "drop" | "keep" | TopicRecord;

function routeOf(r: KvReader, sub: SubscriptionRecord): Route {
  if (sub.deadLetterTopic === "") return "drop";
  const dlq = findTopic(r, sub.deadLetterTopic);
  if (!dlq || dlq.id === sub.topicId || !keepsMessage(dlq, topicSubscriptionIds(r, dlq.id))) return "keep";
  return dlq;
}

/** A message that used up its attempts, already detached from the subscription's ready/pending sets. */
interface Exhausted {
  seq: number;
  priority: number;
  attempts: number;
  reason: DeadLetterReason;
  error: string;
}

/** Messages of a subscription that used up their delivery attempts (dead-lettered or dropped). */
export function readDeadLettered(r: KvReader, subId: number): number {
  return decodeF64s(r.get(idKey(Table.DeadLettered, subId)), 1)[0] ?? 0;
}

/**
 * The retry policy of one subscription inside one engine operation: the backoff of a failed
 * delivery (nack without delay, expired lease) and what happens after `max_delivery_attempts`.
 * The subscription record is read once, on first use. Messages that used up their attempts are
 * collected and moved out in {@link finish}, in the same transaction: appended to the
 * dead-letter topic, then released from the source (a dead letter exists exactly when the
 * source no longer holds the message).
 */
export class FailedDeliveries {
  private record: SubscriptionRecord | undefined;
  private route: Route | undefined;
  private readonly exhausted: Exhausted[] = [];

  /**
   * @param counters the subscription's live counters when the caller writes them afterwards
   *   (lease); without, {@link finish} reads and writes them itself (after a nack's own write).
   */
  constructor(
    private readonly w: KvWriter,
    private readonly subId: number,
    private readonly nowMs: number,
    private readonly counters?: Counters,
  ) {}

  private get sub(): SubscriptionRecord | undefined {
    this.record ??= subscriptionById(this.w, this.subId);
    return this.record;
  }

  /** The wait before the next delivery after `attempts` failed ones; 0: at once. */
  backoffMs(seq: number, attempts: number): number {
    const sub = this.sub;
    return sub ? retryBackoffMs(sub.retry, attempts, jitterFraction(this.subId, seq, attempts)) : 0;
  }

  /**
   * After a failed delivery: when the message used up its attempts and has somewhere to go,
   * takes it (it leaves the subscription in {@link finish}) and returns true; otherwise the caller
   * makes it available again.
   */
  takeIfExhausted(seq: number, priority: number, attempts: number, reason: DeadLetterReason, error = ""): boolean {
    const sub = this.sub;
    if (!sub || sub.maxDeliveryAttempts <= 0 || attempts < sub.maxDeliveryAttempts) return false;
    return this.take(seq, priority, attempts, reason, error);
  }

  /**
   * A delivery that can never succeed: takes it whatever its attempts (it leaves the subscription
   * in {@link finish}: to the dead-letter topic, or dropped when none is set) and returns true;
   * false when the dead-letter topic is set but cannot take it (the caller keeps it).
   */
  takeUndeliverable(seq: number, priority: number, attempts: number, error: string): boolean {
    return this.sub !== undefined && this.take(seq, priority, attempts, "undeliverable", error);
  }

  private take(seq: number, priority: number, attempts: number, reason: DeadLetterReason, error: string): boolean {
    this.route ??= routeOf(this.w, this.sub as SubscriptionRecord);
    if (this.route === "keep") return false;
    this.exhausted.push({ seq, priority, attempts, reason, error });
    return true;
  }

  /**
   * A lease ran out (the caller removed its pending entry and counted it out of in-flight).
   * Returns true when handled here: taken after max attempts, or delayed by the retry backoff
   * (counted as delayed in `c`); false: the caller makes it available now.
   */
  leaseExpired(seq: number, p: Pending, c: Counters): boolean {
    if (this.takeIfExhausted(seq, p.priority, p.attempt, "lease_expired")) return true;
    const at = p.dueMs + this.backoffMs(seq, p.attempt);
    if (at <= this.nowMs) return false;
    const delayed: Pending = { state: "delayed", dueMs: at, attempt: p.attempt, priority: p.priority };
    this.w.put(seqKey(Table.Pending, this.subId, seq), encodePending(delayed));
    this.w.put(dueKey(this.subId, at, seq), EMPTY);
    c.delayed++;
    return true;
  }

  /**
   * Moves out what {@link takeIfExhausted} and {@link takeUndeliverable} took. Call once, after
   * the operation's loop. Returns the seqs that left the subscription (the others stayed,
   * available again: the dead-letter topic refused them).
   */
  finish(): Set<number> {
    const left = new Set<number>();
    const sub = this.sub;
    if (this.exhausted.length === 0 || !sub) return left;
    const topic = topicById(this.w, sub.topicId);
    if (!topic) return left;
    const { w, nowMs } = this;
    const c = this.counters ?? readCounters(w, sub.id);
    const head = readHead(w, topic.id);
    const letters: AppendRecord[] = [];
    let gone = 0;
    const keys = new Map<number, string>(); // ordered: the keys the leaving messages pass on
    const dlq = typeof this.route === "object" ? this.route : undefined;
    const dlqTargets = dlq ? fanOutTargets(w, dlq.id) : undefined;
    const leaving: Exhausted[] = [];
    for (const x of this.exhausted) {
      const raw = w.get(seqKey(Table.Message, topic.id, x.seq));
      const m = raw ? decodeMessage(raw, topic.name, x.seq) : undefined;
      if (!m || (m.expireAtMs > 0 && m.expireAtMs <= nowMs)) {
        gone++; // past its TTL (or gone): dropped as expired, not dead-lettered
        if (m && sub.ordered) keys.set(x.seq, m.orderingKey);
        leaving.push(x);
        continue;
      }
      const letter = dlq ? deadLetter(m, sub, x) : undefined;
      if (letter && dlq && dlqTargets && !keepsMessage(dlq, matchingSubIds(dlqTargets, letter.attributes))) {
        // Every subscription of the dead-letter topic filters it out: the append would store
        // nothing, so it stays here, available again, rather than be lost.
        w.put(readyKey(this.subId, x.priority, x.seq), encodeU32(x.attempts));
        continue;
      }
      if (sub.ordered) keys.set(x.seq, m.orderingKey);
      if (letter) letters.push(letter);
      leaving.push(x);
    }
    if (letters.length > 0 && dlq && !this.appendOrKeep(dlq, letters, leaving)) return left;
    for (const [seq, key] of keys) leftSubscription(w, sub, seq, Buffer.from(key), nowMs, c);
    for (const x of leaving) releaseMessage(w, topic, head, x.seq, nowMs);
    c.unacked -= leaving.length;
    writeHead(w, topic.id, head);
    if (!this.counters) writeCounters(w, sub.id, c);
    const counted = leaving.length - gone;
    if (counted > 0) w.put(idKey(Table.DeadLettered, sub.id), encodeF64s(readDeadLettered(w, sub.id) + counted));
    for (const x of leaving) left.add(x.seq);
    return left;
  }

  /**
   * Appends the dead letters; when the dead-letter topic refuses them (a limit, say), the
   * messages stay on the subscription, available again, instead: nothing is lost.
   */
  private appendOrKeep(dlq: TopicRecord, letters: AppendRecord[], leaving: readonly Exhausted[]): boolean {
    try {
      appendRecords(this.w, dlq.name, letters, this.nowMs);
      return true;
    } catch (e) {
      if (!(e instanceof BrokerError)) throw e;
      for (const x of leaving) this.w.put(readyKey(this.subId, x.priority, x.seq), encodeU32(x.attempts));
      return false;
    }
  }
}

/** The dead letter of a message: its own data, attributes and order, plus where it came from. */
function deadLetter(m: ReturnType<typeof decodeMessage>, sub: SubscriptionRecord, x: Exhausted): AppendRecord {
  const attributes: Record<string, string> = {
    ...m.attributes,
    [A.sourceTopic]: sub.topic,
    [A.sourceSubscription]: sub.name,
    [A.sourceSeq]: String(x.seq),
    [A.sourceId]: m.id,
    [A.attempts]: String(x.attempts),
    [A.reason]: x.reason,
  };
  if (x.error !== "") attributes[A.lastError] = x.error;
  // A new (generated) id on the dead-letter topic: a client id could be deduplicated away there.
  return {
    id: "",
    data: Buffer.from(m.data),
    attributes,
    priority: m.priority,
    orderingKey: m.orderingKey,
    deliverAtMs: 0,
    expireAtMs: 0,
  };
}
