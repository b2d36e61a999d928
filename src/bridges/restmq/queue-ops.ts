import type { ReceivedMessage } from "../../../gen/switchyard/v1/types_pb.js";
import { type BrokerClients, reasonOf } from "../bridge.js";
import type { QueueDirectory } from "./queue-directory.js";

/**
 * RestMQ's queue operations on the broker's services (docs/restmq.md, issue 12 part 4). A
 * RestMQ element is a message of the queue's topic: its key `<queue>:<n>` is the message's seq
 * (seqs count from 1 per topic and are never reused, like RestMQ's `<queue>:UUID` counter), its
 * value the message data as UTF-8. GET and `take` lease and ack; `get` leases and gives the lease
 * back, so the delivery attempt counts the reads; `ttl` is the message TTL.
 */

/** One element read from a queue. */
export interface QueueElement {
  /** `<queue>:<seq>`. */
  key: string;
  /** The message data as text (invalid UTF-8 shows as U+FFFD). */
  value: string;
  /** The lease, for Ack or a give-back. */
  ackId: string;
  /** Delivery attempts so far, this one included (1 on the first read). */
  attempt: number;
}

/** Longest message TTL the broker keeps (one year); a longer `ttl` means no TTL. */
const MAX_TTL_SECONDS = 365 * 24 * 3600;

const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** The RestMQ element of a leased message. */
export function elementOf(queue: string, r: ReceivedMessage): QueueElement {
  return {
    key: `${queue}:${r.message?.seq ?? 0n}`,
    value: lossyUtf8.decode(r.message?.data ?? new Uint8Array()),
    ackId: r.ackId,
    attempt: r.deliveryAttempt,
  };
}

/** Reasons that make a read see an empty queue: it does not exist, or its name cannot exist. */
const EMPTY_ON = new Set(["TOPIC_NOT_FOUND", "SUBSCRIPTION_NOT_FOUND", "INVALID_NAME"]);

/** True when a broker error means "no such queue" to a reader. */
export function readsAsEmpty(e: unknown): boolean {
  const reason = reasonOf(e);
  return reason !== undefined && EMPTY_ON.has(reason);
}

/**
 * Adds an element (RestMQ `queue_add`): publishes `value`, creating the queue on first use, and
 * answers its key once the message is stored (durably, per the server's durability setting).
 * `ttlSeconds` ≤ 0 makes the element expire at once (RestMQ's EXPIRE with 0 or less deleted the value).
 */
export async function addElement(
  directory: QueueDirectory,
  clients: BrokerClients,
  queue: string,
  value: string,
  ttlSeconds?: number,
): Promise<string> {
  const data = Buffer.from(value, "utf8");
  let ttlMs = 0n;
  if (ttlSeconds !== undefined) {
    if (ttlSeconds <= 0) ttlMs = 1n;
    else if (ttlSeconds <= MAX_TTL_SECONDS) ttlMs = BigInt(ttlSeconds) * 1000n;
  }
  // The queue is created (with the bridge's clients) only for a user the broker lets publish there.
  await directory.ensure(queue, clients);
  const publish = () => clients.publisher.publish({ topic: queue, messages: [{ data, ttlMs }] });
  let response: Awaited<ReturnType<typeof publish>>;
  try {
    response = await publish();
  } catch (e) {
    if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
    directory.forget(queue); // deleted behind our back: RestMQ queues come back on the next add
    await directory.ensure(queue, clients);
    response = await publish();
  }
  return `${queue}:${response.results[0]?.seq ?? 0n}`;
}

/** Lease of a read that gives the element back at once (if the bridge died in between, it returns after this). */
const READ_LEASE_MS = 5_000n;

/** Leases the oldest available element, or answers undefined when there is none. */
async function leaseOne(clients: BrokerClients, queue: string, ackDeadlineMs = 0n): Promise<QueueElement | undefined> {
  try {
    const { messages } = await clients.subscriber.pull({
      subscription: queue,
      maxMessages: 1,
      waitMs: 0,
      ackDeadlineMs,
    });
    const first = messages[0];
    return first ? elementOf(queue, first) : undefined;
  } catch (e) {
    if (readsAsEmpty(e)) return undefined;
    throw e;
  }
}

/**
 * Takes the oldest element off the queue (RestMQ's hard get, GET /q and `take`): lease, then ack.
 * Run it under the queue's lock (queue-locks.ts), so no other read of the bridge holds the oldest.
 */
export async function takeElement(clients: BrokerClients, queue: string): Promise<QueueElement | undefined> {
  const element = await leaseOne(clients, queue);
  if (element) await clients.subscriber.ack({ subscription: queue, ackIds: [element.ackId] });
  return element;
}

/**
 * Reads the oldest element and leaves it where it is (RestMQ's soft get, `get`). The read is a
 * Peek, which hides nothing; the delivery is then counted the one way the broker counts one, by
 * a lease of the oldest element given back at once, so `attempt` rises with every read as
 * RestMQ's refcount did. Run it under the queue's lock (queue-locks.ts): reads of the bridge then
 * never see that lease. If another door took the peeked element in between, the lease catches a
 * later one, which is given back and not counted; the answer is still the peeked element.
 */
export async function peekElement(clients: BrokerClients, queue: string): Promise<QueueElement | undefined> {
  let peeked: ReceivedMessage | undefined;
  try {
    peeked = (await clients.subscriber.peek({ subscription: queue, maxMessages: 1 })).messages[0];
  } catch (e) {
    if (readsAsEmpty(e)) return undefined;
    throw e;
  }
  if (!peeked) return undefined;
  const element = elementOf(queue, peeked);
  const leased = await leaseOne(clients, queue, READ_LEASE_MS);
  if (!leased) return element;
  await clients.subscriber.modifyAckDeadline({ subscription: queue, ackIds: [leased.ackId], ackDeadlineMs: 0n });
  return leased.key === element.key ? { ...element, attempt: leased.attempt } : element;
}

/** The seq in an element key of `queue` (`<queue>:<n>`), if it is one. */
export function seqOfKey(queue: string, key: string): bigint | undefined {
  if (!key.startsWith(`${queue}:`)) return undefined;
  const n = key.slice(queue.length + 1);
  return /^[1-9]\d{0,15}$/.test(n) ? BigInt(n) : undefined;
}

/**
 * Deletes one element by key (`del`): true when it was in the queue. The key's message is found
 * by its seq in the topic's log, then acked by its id on the queue's subscription.
 */
export async function deleteElement(clients: BrokerClients, queue: string, key: string): Promise<boolean> {
  const seq = seqOfKey(queue, key);
  if (seq === undefined) return false;
  const stop = new AbortController();
  let id: string | undefined;
  try {
    const stream = clients.replay.read(
      { topic: queue, from: { case: "fromSeq", value: seq }, follow: false, maxMessages: 1 },
      { signal: stop.signal },
    );
    for await (const { messages } of stream) {
      const first = messages[0];
      if (first === undefined) continue;
      if (first.seq === seq) id = first.id;
      break;
    }
  } catch (e) {
    if (readsAsEmpty(e)) return false;
    throw e;
  } finally {
    stop.abort();
  }
  if (id === undefined) return false;
  try {
    await clients.subscriber.ack({ subscription: queue, messageIds: [id] });
    return true;
  } catch (e) {
    if (readsAsEmpty(e) || reasonOf(e) === "DELIVERY_UNKNOWN") return false;
    throw e;
  }
}

/**
 * Empties a queue (DELETE /q) and answers 1 when it held elements, else 0 (RestMQ's DEL count).
 * Only the queue's own subscription is emptied, as `switchyard subs purge` does: a Seek past the
 * topic's last message, so every other subscription of the topic keeps what it has. The
 * backlog is read with `server` (the bridge's own clients); everything that changes the queue
 * goes through `clients` (the request's user), and the first such call is the one the broker
 * checks, so a user who may not empty the queue changes nothing (the caller ends live consumers
 * only after this succeeds). A queue holding more than the broker's Seek bound (REPLAY_LIMIT) is
 * emptied with PurgeTopic when it is the topic's only subscription.
 */
export async function purgeQueue(server: BrokerClients, clients: BrokerClients, queue: string): Promise<0 | 1> {
  let found: { waiting: number; lastSeq: bigint; subscriptions: number } | undefined;
  try {
    const stats = await server.admin.getStats({ topics: [queue] });
    const sub = stats.subscriptions.find((s) => s.name === queue && s.topic === queue);
    const topic = stats.topics.find((t) => t.name === queue);
    if (sub && topic) {
      found = {
        waiting: Number(sub.backlog - sub.inFlight),
        lastSeq: topic.lastSeq,
        subscriptions: topic.subscriptions,
      };
    }
  } catch (e) {
    if (!readsAsEmpty(e)) throw e;
  }
  try {
    if (!found) {
      // Nothing to empty; the Peek still asks the broker whether this user may (it answers not found if so).
      await clients.subscriber.peek({ subscription: queue, maxMessages: 1 });
      return 0;
    }
    try {
      await clients.replay.seek({ subscription: queue, target: { case: "seq", value: found.lastSeq + 1n } });
    } catch (e) {
      if (reasonOf(e) !== "REPLAY_LIMIT" || found.subscriptions !== 1) throw e;
      await clients.admin.purgeTopic({ name: queue });
    }
  } catch (e) {
    if (readsAsEmpty(e)) return 0;
    throw e;
  }
  return found.waiting > 0 ? 1 : 0;
}

/**
 * Elements waiting in each queue (RestMQ's LLEN: not counting those leased right now), for the
 * named queues or, with none named, every queue: every topic with a same-name subscription.
 * A queue that does not exist is not in the map.
 */
export async function queueLengths(
  clients: BrokerClients,
  names: readonly string[] = [],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let stats: Awaited<ReturnType<BrokerClients["admin"]["getStats"]>>;
  try {
    stats = await clients.admin.getStats({ topics: [...names] });
  } catch (e) {
    if (readsAsEmpty(e)) return out;
    throw e;
  }
  for (const s of stats.subscriptions) {
    if (s.name !== s.topic) continue;
    out.set(s.name, Number(s.backlog - s.inFlight));
  }
  return out;
}
