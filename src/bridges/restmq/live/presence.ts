import type { LiveConsumer } from "./consumer.js";
import { type DispatchEnv, QueueDispatcher } from "./dispatcher.js";

/**
 * The live consumers of every queue (RestMQ's `presence` map) and one dispatcher per queue that
 * has any. The bridge's only state beside policy and start/stop: live connections.
 */
export class Presence {
  private readonly dispatchers = new Map<string, QueueDispatcher>();
  private consumers = 0;

  constructor(
    private readonly env: DispatchEnv,
    /** Most live consumers at once (comet and websocket together). */
    private readonly maxConsumers: number,
  ) {
    env.settings.onChange((queue) => this.dispatchers.get(queue)?.settingsChanged());
  }

  /** Live consumers now. */
  size(): number {
    return this.consumers;
  }

  /** Whether one more consumer may attach. */
  hasRoom(): boolean {
    return this.consumers < this.maxConsumers;
  }

  /** Attaches a consumer to its queue's dispatcher; it detaches itself when it ends. */
  attach(consumer: LiveConsumer): void {
    let d = this.dispatchers.get(consumer.queue);
    if (!d) {
      d = new QueueDispatcher(consumer.queue, this.env, (idle) => {
        if (this.dispatchers.get(idle.queue) === idle && idle.size() === 0) this.dispatchers.delete(idle.queue);
      });
      this.dispatchers.set(consumer.queue, d);
    }
    this.consumers++;
    consumer.onEnd(() => {
      this.consumers--;
    });
    d.add(consumer);
  }

  /** Ends every live consumer of `queue` (DELETE /q: comet gets a last `null`). */
  endQueue(queue: string): void {
    this.dispatchers.get(queue)?.endAll("purged");
  }

  /** Ends every live consumer (shutdown) and waits, up to `timeoutMs`, for the dispatchers to stop. */
  async closeAll(timeoutMs: number): Promise<void> {
    const all = [...this.dispatchers.values()];
    for (const d of all) d.endAll("shutdown");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(all.map((d) => d.stopped())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
