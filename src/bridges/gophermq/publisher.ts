import type { Logger } from "../../util/index.js";
import { type BrokerClients, reasonOf } from "../bridge.js";

/** How one GopherMQ publish ended. */
export type PublishOutcome =
  | { kind: "ok" }
  /** The subject's pending count was above MaxPending (429 `broker overflow`). */
  | { kind: "overflow" }
  /** The subject has no subscriber (404 `subscriber not found`). */
  | { kind: "no-subscriber" }
  /** The data is larger than the broker's message limit (checked before anything else). */
  | { kind: "too-large" }
  /** The bridge holds as many publishes (or bytes) waiting to be stored as it may: try later. */
  | { kind: "busy" }
  /** The broker refused or failed; `error` is what the client call threw. */
  | { kind: "failed"; error: unknown };

/** Options of {@link createSubjectPublisher}. */
export interface SubjectPublisherOptions {
  /** GopherMQ's `broker.max-pending`: a publish fails while the subject's pending count is above it. */
  maxPending: number;
  /** Largest message data in bytes (the broker's limit); larger ones fail alone, before any check. */
  maxMessageBytes: number;
  /** Most messages in one broker Publish. Default 1000 (the broker's batch limit). */
  maxBatchMessages?: number;
  /** Most data bytes in one broker Publish. Default 8 MiB (half the broker's batch limit). */
  maxBatchBytes?: number;
  /** Most publishes waiting or being stored, over all subjects. Default 10,000. */
  maxQueuedMessages?: number;
  /** Most data bytes waiting or being stored, over all subjects (one publish always fits). Default 64 MiB. */
  maxQueuedBytes?: number;
}

/** Publishes GopherMQ messages with GopherMQ's overflow arithmetic. */
export interface SubjectPublisher {
  /**
   * Publishes `data` to `subject` (a valid subject) once it is durable, checking first, as
   * GopherMQ does, overflow (the subject's pending count above MaxPending) and then whether the
   * subject has a subscriber. Never rejects: failures are outcomes.
   */
  publish(clients: BrokerClients, subject: string, data: Uint8Array): Promise<PublishOutcome>;
  /** True when a publish of `bytes` would be queued now rather than refused as busy. */
  admits(bytes: number): boolean;
  /** Publishes queued or being checked. */
  inFlight(): number;
}

interface Job {
  clients: BrokerClients;
  data: Uint8Array;
  done: (outcome: PublishOutcome) => void;
}

/**
 * Creates the publisher. Per subject, publishes run in rounds: a round takes every publish that
 * is waiting (up to the batch limits), reads the subject's pending count once (the messages of
 * every subscription of its topic not yet delivered, from GetStats), admits publishes in arrival order exactly as
 * GopherMQ's locked counter would (a publish is refused while the count is above MaxPending, and
 * each admitted one adds one per subscriber), and stores the admitted ones in one broker Publish.
 * The next round starts when that commit is done, so no count is read while this bridge's own
 * messages are half-committed, and concurrent publishes still share commits. The queues are
 * bounded over all subjects (`maxQueuedMessages`, `maxQueuedBytes`): beyond them a publish is
 * refused at once as `busy`.
 */
export function createSubjectPublisher(options: SubjectPublisherOptions, logger: Logger): SubjectPublisher {
  const maxBatchMessages = options.maxBatchMessages ?? 1000;
  const maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024;
  const maxQueuedMessages = options.maxQueuedMessages ?? 10_000;
  const maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
  const queues = new Map<string, Job[]>();
  let pending = 0;
  let pendingBytes = 0;
  const admits = (bytes: number) =>
    pending < maxQueuedMessages && (pending === 0 || pendingBytes + bytes <= maxQueuedBytes);

  async function pendingAndSubscribers(clients: BrokerClients, subject: string) {
    const stats = await clients.admin.getStats({ topics: [subject] });
    let count = 0;
    // Pending as GopherMQ counts it: not yet fetched. Messages leased by a fetch whose answer is
    // on its way count as fetched (they are acked once it is out, or come back if it fails).
    for (const s of stats.subscriptions) count += Math.max(0, Number(s.backlog) - Number(s.inFlight));
    return { count, subscribers: stats.subscriptions.length };
  }

  async function round(subject: string, jobs: Job[]): Promise<void> {
    const first = jobs[0] as Job;
    let state: { count: number; subscribers: number };
    try {
      state = await pendingAndSubscribers(first.clients, subject);
    } catch (e) {
      // A subject that is no topic (or cannot be one) has no subscriber.
      const reason = reasonOf(e);
      if (reason === "TOPIC_NOT_FOUND" || reason === "INVALID_NAME") {
        for (const j of jobs) j.done({ kind: "no-subscriber" });
        return;
      }
      for (const j of jobs) j.done({ kind: "failed", error: e });
      return;
    }
    const admitted: Job[] = [];
    for (const j of jobs) {
      if (state.count > options.maxPending) j.done({ kind: "overflow" });
      else if (state.subscribers === 0) j.done({ kind: "no-subscriber" });
      else {
        admitted.push(j);
        state.count += state.subscribers;
      }
    }
    if (admitted.length === 0) return;
    try {
      await first.clients.publisher.publish({ topic: subject, messages: admitted.map((j) => ({ data: j.data })) });
      for (const j of admitted) j.done({ kind: "ok" });
    } catch (e) {
      const outcome: PublishOutcome =
        reasonOf(e) === "TOPIC_NOT_FOUND" ? { kind: "no-subscriber" } : { kind: "failed", error: e };
      for (const j of admitted) j.done(outcome);
    }
  }

  /** Takes the next round's jobs: arrival order, within the batch limits, all from one set of clients. */
  function take(queue: Job[]): Job[] {
    const clients = queue[0]?.clients;
    let bytes = 0;
    let n = 0;
    while (n < queue.length && n < maxBatchMessages) {
      const j = queue[n] as Job;
      if (j.clients !== clients || (n > 0 && bytes + j.data.length > maxBatchBytes)) break;
      bytes += j.data.length;
      n++;
    }
    return queue.splice(0, n);
  }

  async function drain(subject: string, queue: Job[]): Promise<void> {
    try {
      while (queue.length > 0) await round(subject, take(queue));
    } catch (e) {
      // round() settles every job itself; this is a bug guard so no publish waits forever.
      logger.error("gophermq: publish round failed", { subject, error: e });
      for (const j of queue.splice(0)) j.done({ kind: "failed", error: e });
    } finally {
      queues.delete(subject);
    }
  }

  return {
    publish(clients, subject, data) {
      if (data.length > options.maxMessageBytes) return Promise.resolve({ kind: "too-large" });
      if (!admits(data.length)) return Promise.resolve({ kind: "busy" });
      pending++;
      pendingBytes += data.length;
      return new Promise<PublishOutcome>((resolve) => {
        const job: Job = {
          clients,
          data,
          done: (outcome) => {
            pending--;
            pendingBytes -= data.length;
            resolve(outcome);
          },
        };
        const queue = queues.get(subject);
        if (queue) {
          queue.push(job);
          return;
        }
        const fresh = [job];
        queues.set(subject, fresh);
        void drain(subject, fresh);
      });
    },
    admits,
    inFlight: () => pending,
  };
}
