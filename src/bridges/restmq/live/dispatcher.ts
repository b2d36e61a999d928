import type { ReceivedMessage } from "../../../../gen/switchyard/v1/types_pb.js";
import type { Logger } from "../../../util/index.js";
import type { BrokerClients } from "../../bridge.js";
import type { QueueLocks } from "../queue-locks.js";
import { readsAsEmpty } from "../queue-ops.js";
import { ROUNDROBIN, type SettingsStore } from "../settings.js";
import type { LiveConsumer, LiveElement } from "./consumer.js";

/** What every queue's dispatcher shares. */
export interface DispatchEnv {
  /**
   * The bridge's own clients: one Pull per queue feeds every consumer, whoever they are, so it
   * cannot act as any one of them. Each consumer's right to read is checked with its own clients
   * when it attaches and again periodically (presence.ts).
   */
  readonly clients: BrokerClients;
  readonly settings: SettingsStore;
  readonly locks: QueueLocks;
  readonly logger: Logger;
  /** Aborted when the server shuts down. */
  readonly shutdownSignal: AbortSignal;
  /** The live form of a leased message. */
  render(queue: string, message: ReceivedMessage): LiveElement;
  /** Most elements one dispatch takes off the queue (RestMQ: 10). */
  readonly batch: number;
  /** How long one wait for an element lasts before it is asked again (well under the broker's cap). */
  readonly pullWaitMs: number;
  /** Lease of a dispatched batch: long enough to write it out and ack it. */
  readonly leaseMs: number;
}

/** Waits after a failed or empty attempt grow from 100 ms to 10 s (a broken or missing queue must not spin). */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;
const backoffMs = (failures: number) => Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 16));

/**
 * Feeds the live consumers of one queue (docs/restmq.md, issue 12 part 2). It exists while
 * the queue has consumers. It waits for an element with a long-poll Peek, which the broker
 * answers as soon as one is available (so dispatch follows publishes at once, with no timer) and
 * which leases nothing, so the wait can be cut short at any moment: when the last consumer
 * leaves, the queue is stopped, or the server shuts down. Only then does it lease a batch, with
 * a Pull that does not wait and is never aborted: every element that Pull leased is written out
 * and acked, or given back at once (ModifyAckDeadline 0) when no consumer can take it any more.
 * It leases only while some consumer is ready (below its high-water mark) and the queue is
 * started; otherwise the elements stay in the queue, on disk. Broadcast writes every element to
 * every consumer; round-robin writes each to one, rotating per element, among the consumers that
 * were ready when the batch was leased. A queue that does not exist yet is waited for: the bridge
 * wakes the dispatcher when it creates the queue, and otherwise it looks again after a backoff
 * of up to 10 s.
 */
export class QueueDispatcher {
  private readonly consumers: LiveConsumer[] = [];
  private rotation = 0;
  private woken = false;
  private waiter: (() => void) | undefined;
  private waitAbort: AbortController | undefined;
  private running: Promise<void> | undefined;

  constructor(
    /** The queue it feeds. */
    readonly queue: string,
    private readonly env: DispatchEnv,
    /** Called when the loop ends with no consumer left (the owner forgets the dispatcher). */
    private readonly onIdle: (d: QueueDispatcher) => void,
  ) {}

  /** Consumers attached now. */
  size(): number {
    return this.consumers.length;
  }

  /** The consumers attached now (a copy). */
  list(): LiveConsumer[] {
    return [...this.consumers];
  }

  /** Adds a consumer; it leaves by itself when it ends. */
  add(consumer: LiveConsumer): void {
    this.consumers.push(consumer);
    consumer.onRoom(() => this.wake());
    consumer.onEnd(() => this.remove(consumer));
    this.wake();
    this.start();
  }

  /** Runs the loop unless it runs already; when it ends with consumers back (they came as it ended), again. */
  private start(): void {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.consumers.length > 0 && !this.env.shutdownSignal.aborted) this.start();
      else this.onIdle(this);
    });
  }

  /** Ends every consumer (DELETE of the queue, shutdown). */
  endAll(reason: "purged" | "shutdown"): void {
    for (const c of [...this.consumers]) c.end(reason);
  }

  /** Re-reads the queue's settings: a stop ends the wait in progress; a start or a policy change takes effect now. */
  settingsChanged(): void {
    if (this.env.settings.get(this.queue).status === 0) this.waitAbort?.abort();
    this.wake();
  }

  /** The queue may exist now (the bridge created it): look again at once. */
  wake(): void {
    this.woken = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves once the loop has ended (after every consumer left). */
  async stopped(): Promise<void> {
    await this.running;
  }

  private remove(consumer: LiveConsumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
    if (this.consumers.length === 0) this.waitAbort?.abort();
    this.wake();
  }

  /** Waits for a wake-up (or `ms`, when given). */
  private async sleep(ms?: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.waiter = resolve;
      if (ms !== undefined) timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.waiter = undefined;
    this.woken = false;
  }

  /** True while the loop should lease for its consumers: some are ready and the queue is not stopped. */
  private wanted(): boolean {
    if (this.env.shutdownSignal.aborted || this.env.settings.get(this.queue).status === 0) return false;
    return this.consumers.some((c) => c.ready());
  }

  private async run(): Promise<void> {
    const { shutdownSignal } = this.env;
    let failures = 0;
    while (this.consumers.length > 0 && !shutdownSignal.aborted) {
      this.woken = false;
      if (!this.wanted()) {
        await this.sleep();
        continue;
      }
      let outcome: "available" | "timeout" | "aborted" | "failed";
      try {
        outcome = await this.waitForElement();
      } catch (e) {
        outcome = "failed";
        this.warnOnce(e, failures);
      }
      if (outcome === "failed") {
        // A queue that does not exist (yet) is waited for; the bridge wakes us when it makes it.
        await this.sleep(backoffMs(++failures));
        continue;
      }
      if (outcome !== "available" || !this.wanted()) continue;
      let messages: ReceivedMessage[];
      try {
        messages = await this.lease();
      } catch (e) {
        this.warnOnce(e, failures);
        await this.sleep(backoffMs(++failures));
        continue;
      }
      if (messages.length === 0) {
        // Shown but not leased: taken by another reader meanwhile, or a subscription paused over the API.
        await this.sleep(backoffMs(++failures));
        continue;
      }
      failures = 0;
      await this.deliver(messages);
    }
  }

  /** Logs a failure that is not "no such queue", once per streak of failures (they repeat every 10 s at most). */
  private warnOnce(e: unknown, failuresBefore: number): void {
    if (failuresBefore > 0 || readsAsEmpty(e)) return;
    this.env.logger.warn("restmq: live dispatch failed; retrying", { queue: this.queue, error: e });
  }

  /**
   * Waits, up to `pullWaitMs`, until the queue has an element available, without leasing it: a
   * Peek long-poll, aborted when the last consumer leaves, the queue is stopped or the server
   * shuts down. Throws the broker's error (e.g. the queue does not exist).
   */
  private async waitForElement(): Promise<"available" | "timeout" | "aborted"> {
    const abort = new AbortController();
    this.waitAbort = abort;
    const onShutdown = () => abort.abort();
    this.env.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
    try {
      const { messages } = await this.env.clients.subscriber.peek(
        { subscription: this.queue, maxMessages: 1, waitMs: this.env.pullWaitMs },
        { signal: abort.signal },
      );
      return messages.length > 0 ? "available" : "timeout";
    } catch (e) {
      if (abort.signal.aborted) return "aborted";
      throw e;
    } finally {
      this.env.shutdownSignal.removeEventListener("abort", onShutdown);
      this.waitAbort = undefined;
    }
  }

  /**
   * Leases up to a batch. The Pull does not wait and is never aborted, so the bridge always
   * learns what it leased; it runs under the queue's lock, so no read of the bridge is in the
   * middle of its own lease (queue-locks.ts).
   */
  private async lease(): Promise<ReceivedMessage[]> {
    const { clients, locks, batch, leaseMs } = this.env;
    const response = await locks.run(this.queue, () =>
      clients.subscriber.pull({
        subscription: this.queue,
        maxMessages: batch,
        waitMs: 0,
        ackDeadlineMs: BigInt(leaseMs),
      }),
    );
    return response.messages;
  }

  private async deliver(messages: ReceivedMessage[]): Promise<void> {
    const sent: string[] = [];
    const unsent: string[] = [];
    const settings = this.env.settings.get(this.queue);
    const roundRobin = settings.policy === ROUNDROBIN;
    // Consumers ready now take the whole batch; the others only what fits their bound (broadcast).
    const readyAtStart = new Set(this.wanted() ? this.consumers.filter((c) => c.ready()) : []);
    for (const m of messages) {
      if (readyAtStart.size === 0) {
        unsent.push(m.ackId); // the consumers left, or the queue was stopped, while the Pull ran
        continue;
      }
      const element = this.env.render(this.queue, m);
      const ok = roundRobin ? this.sendToNext(element, readyAtStart) : this.sendToAll(element, readyAtStart);
      (ok ? sent : unsent).push(m.ackId);
    }
    const { clients } = this.env;
    const subscription = this.queue;
    if (sent.length > 0) {
      await clients.subscriber.ack({ subscription, ackIds: sent }).catch((e: unknown) => {
        this.env.logger.warn("restmq: ack of dispatched elements failed (they may be sent again)", {
          queue: this.queue,
          error: e,
        });
      });
    }
    if (unsent.length > 0) {
      await clients.subscriber.modifyAckDeadline({ subscription, ackIds: unsent, ackDeadlineMs: 0n }).catch(() => {
        // The leases run out on their own; the elements come back then.
      });
    }
  }

  private sendToAll(element: LiveElement, readyAtStart: ReadonlySet<LiveConsumer>): boolean {
    let sent = false;
    for (const c of [...this.consumers]) if (c.send(element, readyAtStart.has(c))) sent = true;
    return sent;
  }

  /**
   * Round-robin: the next consumer in turn that is ready now, else the next in turn that was
   * ready when the batch was leased (it takes the whole batch, past its high-water mark). Never
   * one that was already behind: the element goes back to the queue instead of ending it as slow.
   */
  private sendToNext(element: LiveElement, readyAtStart: ReadonlySet<LiveConsumer>): boolean {
    for (const readyNow of [true, false]) {
      const list = [...this.consumers];
      const n = list.length;
      const start = n === 0 ? 0 : this.rotation % n;
      for (let i = 0; i < n; i++) {
        const c = list[(start + i) % n] as LiveConsumer;
        if (!readyAtStart.has(c) || (readyNow && !c.ready())) continue;
        if (c.send(element, true)) {
          this.rotation = start + i + 1;
          return true;
        }
      }
    }
    return false;
  }
}
