import type { ReceivedMessage } from "../../../../gen/switchyard/v1/types_pb.js";
import type { Logger } from "../../../util/index.js";
import { type BrokerClients, reasonOf } from "../../bridge.js";
import type { QueueDirectory } from "../queue-directory.js";
import { readsAsEmpty } from "../queue-ops.js";
import { ROUNDROBIN, type SettingsStore } from "../settings.js";
import type { LiveConsumer, LiveElement } from "./consumer.js";

/** What every queue's dispatcher shares. */
export interface DispatchEnv {
  readonly settings: SettingsStore;
  readonly directory: QueueDirectory;
  readonly logger: Logger;
  /** Aborted when the server shuts down. */
  readonly shutdownSignal: AbortSignal;
  /** The live form of a leased message. */
  render(queue: string, message: ReceivedMessage): LiveElement;
  /** Most elements one dispatch takes off the queue (RestMQ: 10). */
  readonly batch: number;
  /** How long one Pull waits for an element before it is asked again (well under the broker's cap). */
  readonly pullWaitMs: number;
  /** Lease of a dispatched batch: long enough to write it out and ack it. */
  readonly leaseMs: number;
}

/** Waits after a failed Pull grow from 100 ms to 30 s (a broken queue must not spin). */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 30_000;

/**
 * Feeds the live consumers of one queue (protocols.md §3.4, issue 12 part 2). It exists while
 * the queue has consumers, and runs one long-poll Pull at a time: the broker answers it as soon
 * as an element is available, so dispatch follows publishes at once, with no timer. It pulls
 * only while some consumer is ready (below its high-water mark) and the queue is not stopped;
 * otherwise the elements stay in the queue, on disk. Broadcast writes every element to every
 * consumer, round-robin to one, rotating per element and skipping consumers that are not ready.
 * Elements written out are acked (they leave the queue); elements no consumer could take are
 * given back at once.
 */
export class QueueDispatcher {
  private readonly consumers: LiveConsumer[] = [];
  private rotation = 0;
  private woken = false;
  private waiter: (() => void) | undefined;
  private pullAbort: AbortController | undefined;
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

  /** Adds a consumer; it leaves by itself when it ends. */
  add(consumer: LiveConsumer): void {
    this.consumers.push(consumer);
    consumer.onRoom(() => this.wake());
    consumer.onEnd(() => this.remove(consumer));
    this.wake();
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.consumers.length > 0 && !this.env.shutdownSignal.aborted) this.running = this.run();
      else this.onIdle(this);
    });
  }

  /** Ends every consumer (DELETE of the queue, shutdown). */
  endAll(reason: "purged" | "shutdown"): void {
    for (const c of [...this.consumers]) c.end(reason);
  }

  /** Re-reads the queue's settings: a stop ends the Pull in flight; a start or a policy change takes effect now. */
  settingsChanged(): void {
    if (this.env.settings.get(this.queue).status === 0) this.pullAbort?.abort();
    this.wake();
  }

  /** Resolves once the loop has ended (after every consumer left). */
  async stopped(): Promise<void> {
    await this.running;
  }

  private remove(consumer: LiveConsumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
    if (this.consumers.length === 0) this.pullAbort?.abort();
    this.wake();
  }

  private wake(): void {
    this.woken = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
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

  private async run(): Promise<void> {
    const { settings, shutdownSignal } = this.env;
    let failures = 0;
    while (this.consumers.length > 0 && !shutdownSignal.aborted) {
      this.woken = false;
      const queueSettings = settings.get(this.queue);
      const ready = this.consumers.filter((c) => c.ready()).length;
      if (queueSettings.status === 0 || ready === 0) {
        await this.sleep();
        continue;
      }
      const roundRobin = queueSettings.policy === ROUNDROBIN;
      const max = roundRobin ? Math.min(this.env.batch, ready) : this.env.batch;
      const clients = (this.consumers[0] as LiveConsumer).clients;
      const abort = new AbortController();
      this.pullAbort = abort;
      let messages: ReceivedMessage[];
      try {
        const response = await clients.subscriber.pull(
          {
            subscription: this.queue,
            maxMessages: max,
            waitMs: this.env.pullWaitMs,
            ackDeadlineMs: BigInt(this.env.leaseMs),
          },
          { signal: abort.signal },
        );
        messages = response.messages;
        failures = 0;
      } catch (e) {
        if (abort.signal.aborted || shutdownSignal.aborted) continue;
        const reason = reasonOf(e);
        if (reason === "PERMISSION_DENIED" || reason === "UNAUTHENTICATED") {
          // Its user may no longer read this queue: it goes, the next consumer's user pulls.
          (this.consumers[0] as LiveConsumer).end("denied");
          continue;
        }
        failures++;
        await this.recover(e);
        await this.sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1)));
        continue;
      } finally {
        this.pullAbort = undefined;
      }
      if (messages.length > 0) await this.deliver(clients, messages, roundRobin);
    }
  }

  /** After a failed Pull: a queue deleted over the API comes back (RestMQ queues are implicit); else log. */
  private async recover(e: unknown): Promise<void> {
    if (readsAsEmpty(e)) {
      this.env.directory.forget(this.queue);
      await this.env.directory.ensure(this.queue).catch((e2: unknown) => {
        this.env.logger.warn("restmq: cannot create the queue of live consumers", { queue: this.queue, error: e2 });
      });
      return;
    }
    this.env.logger.warn("restmq: live dispatch failed; retrying", { queue: this.queue, error: e });
  }

  private async deliver(clients: BrokerClients, messages: ReceivedMessage[], roundRobin: boolean): Promise<void> {
    const sent: string[] = [];
    const unsent: string[] = [];
    // Consumers ready now take the whole batch; the others only what fits their bound.
    const readyAtStart = new Set(this.consumers.filter((c) => c.ready()));
    for (const m of messages) {
      const element = this.env.render(this.queue, m);
      const ok = roundRobin ? this.sendToNext(element, readyAtStart) : this.sendToAll(element, readyAtStart);
      (ok ? sent : unsent).push(m.ackId);
    }
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

  /** Round-robin: the next consumer in turn that is ready, else the next in turn at all. */
  private sendToNext(element: LiveElement, readyAtStart: ReadonlySet<LiveConsumer>): boolean {
    for (const onlyReady of [true, false]) {
      const list = [...this.consumers];
      const n = list.length;
      const start = n === 0 ? 0 : this.rotation % n;
      for (let i = 0; i < n; i++) {
        const c = list[(start + i) % n] as LiveConsumer;
        if (onlyReady && !c.ready()) continue;
        if (c.send(element, readyAtStart.has(c))) {
          this.rotation = start + i + 1;
          return true;
        }
      }
    }
    return false;
  }
}
