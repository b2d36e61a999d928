import type { Duplex } from "node:stream";
import { type TimerHandle, waitForDrain } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import { COMMANDS, type CommandSession } from "./commands/index.js";
import { type Pub, parsePub, publishRun, takePubRun } from "./commands/publish.js";
import { ConnectionSubscriptions } from "./connection-subscriptions.js";
import { BRIDGE, type OhpqContext } from "./context.js";
import { REPLY } from "./errors.js";
import { LineDecoder, type LineEvent } from "./line-decoder.js";
import { PendingSlots } from "./pending.js";
import { splitToken, tokens } from "./text-format.js";

const NOTHING = Buffer.alloc(0);

/**
 * One client connection of the text protocol (README "Oh, Please Queue" bridge). Lines are executed one at a
 * time, in order, and answered in order. Pushed `MESSAGE` lines of SUB streams are written only
 * between replies, so a reply line is never split and `OK` of an ACK comes before the next push.
 * Bounded: reading stops while `maxPendingLines`/`maxPendingBytes` wait; nothing more is executed
 * or pushed while the socket does not drain, and a client that leaves its replies unread for
 * `drainTimeoutMs` is dropped. When the connection ends, its pending messages go back to their
 * queues at once.
 */
export class OhpqSession implements CommandSession {
  clients: BrokerClients | undefined;
  closeAfterReply = false;
  readonly pending: PendingSlots;
  readonly peer: string;
  readonly id: number;

  private readonly decoder: LineDecoder;
  private readonly lines: LineEvent[] = [];
  private lineBytes = 0;
  private readonly subs: ConnectionSubscriptions;
  private running = false;
  private readingPaused = false;
  private ended = false;
  private finished = false;
  private cleaned: Promise<void> | undefined;
  private lastInputMs: number;
  private idleTimer: TimerHandle | undefined;
  private closeTimer: TimerHandle | undefined;

  constructor(
    private readonly socket: Duplex,
    readonly ctx: OhpqContext,
    private readonly onClose: (session: OhpqSession) => void,
  ) {
    this.id = ctx.nextConnectionId();
    this.peer = (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? "local";
    this.clients = ctx.authRequired ? undefined : ctx.anonymousClients;
    this.decoder = new LineDecoder(ctx.options.maxLineBytes);
    this.pending = new PendingSlots(ctx, (queue) => this.subs.slotFreed(queue));
    this.subs = new ConnectionSubscriptions(ctx, this.pending, {
      clients: () => this.clients,
      ending: () => this.finished,
      wake: () => void this.run(),
    });
    this.lastInputMs = ctx.options.clock.now();
    this.armIdleTimer(ctx.options.idleTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => {
      this.ended = true;
      if (!this.running) this.finish();
    });
    socket.on("error", () => socket.destroy());
    socket.once("close", () => this.onClosed());
    ctx.shutdownSignal.addEventListener("abort", this.onShutdown, { once: true });
  }

  /** True while a command executes or its reply is being written. */
  get busy(): boolean {
    return this.running;
  }

  /** Resolves once the connection's pending messages are back in their queues (after it ended). */
  get released(): Promise<void> {
    return this.cleaned ?? Promise.resolve();
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  // --- CommandSession -------------------------------------------------------------------------

  isSubscribed(queue: string): boolean {
    return this.subs.has(queue);
  }

  canSubscribe(): boolean {
    return this.subs.size < this.ctx.options.maxSubscriptions;
  }

  subscribe(queue: string): void {
    this.subs.add(queue);
  }

  async switchUser(clients: BrokerClients): Promise<void> {
    const before = this.clients;
    this.clients = clients;
    if (before === undefined || before === clients) return;
    // The old login's streams end (the broker takes back what they hold) and reopen as the new
    // user after this reply; what GET holds goes back through the old user's clients.
    this.subs.reopenAll(clients);
    await this.pending.giveBackAll();
  }

  // --- input ----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.finished || this.decoder.failed) return;
    this.lastInputMs = this.ctx.options.clock.now();
    for (const e of this.decoder.push(chunk)) {
      this.lines.push(e);
      this.lineBytes += e.type === "line" ? e.line.length : 0;
    }
    if (this.decoder.failed || this.overPendingLimit(1)) this.pauseReading();
    void this.run();
  }

  private overPendingLimit(divisor: number): boolean {
    const o = this.ctx.options;
    return this.lines.length >= o.maxPendingLines / divisor || this.lineBytes >= o.maxPendingBytes / divisor;
  }

  private pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pause();
  }

  private maybeResumeReading(): void {
    const mayRead = !this.decoder.failed && !this.ctx.shutdownSignal.aborted && !this.finished;
    if (this.readingPaused && mayRead && !this.overPendingLimit(2)) {
      this.readingPaused = false;
      this.socket.resume();
    }
  }

  // --- execution ------------------------------------------------------------------------------

  private async run(): Promise<void> {
    if (this.running || this.finished) return;
    this.running = true;
    try {
      for (;;) {
        if (this.finished) return;
        let out: Buffer;
        if (this.subs.hasPushes) out = this.subs.takePushes();
        else if (this.lines.length > 0) out = await this.next();
        else break;
        if (this.finished) return; // closed while the command ran: its pending message went back
        const flushed = out.length === 0 || this.socket.write(out);
        this.subs.startAdded();
        if (!flushed && !(await this.drained())) {
          this.ctx.logger.warn("ohpq: client does not read; closing", { connection: this.id });
          this.ctx.metrics.error(BRIDGE, "drain_timeout");
          this.socket.destroy();
          return;
        }
        if (this.closeAfterReply) return this.finish();
        this.maybeResumeReading();
      }
      if (this.ended || this.ctx.shutdownSignal.aborted) this.finish();
    } catch (e) {
      this.ctx.logger.error("ohpq: session failed", { error: e });
      this.socket.destroy();
    } finally {
      this.running = false;
    }
  }

  /** Executes the next line; its reply (nothing for an empty line). */
  private async next(): Promise<Buffer> {
    const event = this.lines.shift() as LineEvent;
    if (event.type === "too-long") {
      this.ctx.metrics.error(BRIDGE, "line_too_long");
      this.lines.length = 0;
      this.lineBytes = 0;
      this.closeAfterReply = true; // the framing is lost
      return Buffer.from(REPLY.lineTooLong);
    }
    this.lineBytes -= event.line.length;
    const split = splitToken(event.line);
    if (split === undefined) return NOTHING; // empty lines are ignored
    const name = split.token.toString("latin1").toUpperCase();
    const label = COMMANDS.has(name) ? name : "unknown";
    if (name === "PUB" && this.clients !== undefined && !this.ctx.shutdownSignal.aborted) {
      const pub = parsePub(split.rest);
      if (typeof pub !== "string") return this.pubRun(pub);
    }
    this.ctx.metrics.command(BRIDGE, label);
    return this.counted(label, await this.execute(name, split.rest));
  }

  /** Counts an error reply in the metrics. */
  private counted(label: string, reply: string | Buffer): Buffer {
    const bytes = typeof reply === "string" ? Buffer.from(reply) : reply;
    if (bytes.subarray(0, 6).toString("latin1") === "ERROR ") this.ctx.metrics.error(BRIDGE, label);
    return bytes;
  }

  /**
   * A PUB and the PUBs of the same queue read right behind it, as one Publish (one commit; a
   * connection runs its commands in order, so merging neighbours changes nothing it can see).
   */
  private async pubRun(first: Pub): Promise<Buffer> {
    const taken = takePubRun(first, this.lines);
    for (const line of taken.lines) this.lineBytes -= line.length;
    for (const _ of taken.messages) this.ctx.metrics.command(BRIDGE, "PUB");
    const replies = await publishRun(this, first.queue, taken.messages);
    return Buffer.concat(replies.map((r) => this.counted("PUB", r)));
  }

  private async execute(name: string, rest: Buffer): Promise<string | Buffer> {
    const spec = COMMANDS.get(name);
    if (!spec) return REPLY.unknownCommand;
    if (this.ctx.shutdownSignal.aborted) return REPLY.shuttingDown;
    if (this.clients === undefined && !spec.beforeAuth) return REPLY.notAuthenticated;
    try {
      return await spec.run(this, { tokens: tokens(rest), rest });
    } catch (e) {
      this.ctx.logger.error("ohpq: command failed", { command: name, error: e });
      return REPLY.internal;
    }
  }

  /** Resolves true once the socket drains, false after `drainTimeoutMs` or when it closes. */
  private drained(): Promise<boolean> {
    this.pauseReading();
    return waitForDrain(this.socket, this.ctx.options.drainTimeoutMs, this.ctx.options.clock);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  private armIdleTimer(delayMs: number): void {
    if (this.ctx.options.idleTimeoutMs <= 0) return;
    this.idleTimer = this.ctx.options.clock.setTimer(() => this.onIdleTimer(), delayMs);
  }

  private onIdleTimer(): void {
    if (this.finished) return;
    const { clock, idleTimeoutMs } = this.ctx.options;
    const left = this.lastInputMs + idleTimeoutMs - clock.now();
    // A SUB waits for pushes; a pending message is being worked on (closing would redeliver it).
    if (left > 0 || this.running || this.subs.size > 0 || this.pending.size > 0) {
      this.armIdleTimer(left > 0 ? left : idleTimeoutMs);
      return;
    }
    this.ctx.metrics.error(BRIDGE, "idle_timeout");
    this.socket.write(REPLY.idleTimeout);
    this.finish();
  }

  private readonly onShutdown = () => {
    // No new input: what is already read is answered (ERROR server shutting down), then the end.
    this.pauseReading();
    void this.cleanup();
    if (!this.running) this.finish();
  };

  /** Stops the SUB streams and gives pending messages back (once). */
  private cleanup(): Promise<void> {
    if (this.cleaned !== undefined) return this.cleaned;
    this.subs.stopAll();
    this.cleaned = this.pending.releaseAll();
    return this.cleaned;
  }

  /** Ends the connection gracefully: pending messages go back, the written replies are flushed. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    void this.cleanup();
    this.socket.end();
    // A client that keeps its side open after our end is cut off after the drain timeout.
    this.closeTimer = this.ctx.options.clock.setTimer(() => this.socket.destroy(), this.ctx.options.drainTimeoutMs);
  }

  private onClosed(): void {
    this.finished = true;
    const { clock } = this.ctx.options;
    if (this.idleTimer !== undefined) clock.clearTimer(this.idleTimer);
    if (this.closeTimer !== undefined) clock.clearTimer(this.closeTimer);
    this.lines.length = 0;
    this.lineBytes = 0;
    void this.cleanup();
    this.ctx.shutdownSignal.removeEventListener("abort", this.onShutdown);
    this.onClose(this);
  }
}
