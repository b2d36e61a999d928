import type { Duplex } from "node:stream";
import { linkSignals, type TimerHandle } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import { COMMANDS, type CommandSession, collectRun, executeRun } from "./commands/index.js";
import { BRIDGE, type OkqContext } from "./context.js";
import { isHttpRequest } from "./cross-protocol.js";
import { errorReply, INVALID_COMMAND, MISSING_ARGS, NOAUTH, SHUTTING_DOWN } from "./errors.js";
import { goQuote } from "./go-format.js";
import { PendingInput } from "./pending-events.js";
import { ReplyWriter } from "./reply-writer.js";
import { ARG_OVERHEAD_BYTES, RespDecoder } from "./resp-decoder.js";
import { error, type Reply, type RespVersion } from "./resp-encoder.js";

/**
 * Input is decoded this much at a time: past a read-ahead limit, the rest of a socket chunk (up
 * to 64 KiB) goes back unread, so a connection overshoots its limits by one slice at most.
 */
const DECODE_SLICE_BYTES = 16 * 1024;

/** Headroom of a bulk string over the message size limit (names, ids and framing). */
const BULK_HEADROOM_BYTES = 64 * 1024;

/**
 * One client connection: decodes pipelined commands, executes them one at a time in order
 * (a connection is sequential, as in okQ and Redis; a run of pipelined pushes becomes one
 * Publish), and writes the replies in order. Backpressure both ways: reading stops while
 * `maxPendingCommands` wait (or their arguments reach `maxPendingBytes`, each argument counting
 * {@link ARG_OVERHEAD_BYTES} more than its length), and executing stops while the socket does not
 * drain; a client that leaves its replies unread for `drainTimeoutMs` is dropped, and one that is
 * idle for `idleTimeoutMs` is closed. An HTTP request (see resp-decoder.ts) closes the connection
 * at once, with no reply and nothing after it executed.
 *
 * Replies of a pipeline leave in as few socket writes as possible: while the next pending command
 * is a quick one (`CommandSpec.quick`: a push, pop, ack or peek), the replies so far are held (see
 * reply-writer.ts for the bounds) and written together with the next ones. Every reply is still
 * written only after its command completed (a push or ack after its synced commit), in order; a
 * reply is never held behind a command that may block (QNOTIFY, AUTH) or past the pipeline's end.
 */
export class RespSession implements CommandSession {
  version: RespVersion = 2;
  clientName: string | undefined;
  authenticated: boolean;
  clients: BrokerClients;
  readonly peer: string;
  registered: readonly string[] = [];
  closeAfterReply = false;
  readonly id: number;
  readonly signal: AbortSignal;

  private readonly decoder: RespDecoder;
  private readonly pending: PendingInput;
  private readonly closed = new AbortController();
  /** `signal`'s link to the shutdown signal, disposed on close. */
  private readonly signalLink: { dispose(): void };
  private running = false;
  private readingPaused = false;
  private ended = false;
  private finished = false;
  private lastInputMs: number;
  private idleTimer: TimerHandle | undefined;
  /** Replies not written yet (see the class comment). */
  private readonly replies: ReplyWriter;

  constructor(
    private readonly socket: Duplex,
    readonly ctx: OkqContext,
    private readonly onClose: (session: RespSession) => void,
  ) {
    const o = ctx.options;
    this.id = ctx.nextClientId();
    this.authenticated = o.authenticator === undefined;
    this.clients = ctx.clientsBeforeAuth;
    this.peer = (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? "";
    const link = linkSignals(this.closed.signal, ctx.shutdownSignal);
    this.signal = link.signal;
    this.signalLink = link;
    const maxBulkBytes = o.maxMessageBytes + BULK_HEADROOM_BYTES;
    this.pending = new PendingInput(o, ctx.input);
    this.decoder = new RespDecoder({
      maxBulkBytes,
      maxArrayLength: o.maxArrayLength,
      maxCommandBytes: maxBulkBytes * 2,
      maxInlineBytes: o.maxInlineBytes,
      maxDepth: 8,
      argOverheadBytes: ARG_OVERHEAD_BYTES,
    });
    this.replies = new ReplyWriter(socket, {
      maxHeldBytes: o.maxRunReplyBytes,
      drainTimeoutMs: o.drainTimeoutMs,
      clock: o.clock,
      onBackpressure: () => this.pauseReading(),
    });
    this.lastInputMs = o.clock.now();
    this.armIdleTimer(o.idleTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => {
      this.ended = true;
      if (!this.running) this.finish();
    });
    socket.on("error", () => socket.destroy());
    socket.once("close", () => this.onClosed());
    ctx.shutdownSignal.addEventListener("abort", this.onShutdown, { once: true });
  }

  /** True while a command is executing or replies are being written. */
  get busy(): boolean {
    return this.running;
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private readonly onShutdown = () => {
    // No new commands: what is already read gets answered (SHUTTING_DOWN), then the connection ends.
    this.socket.pause();
    if (!this.running) this.finish();
  };

  private onData(chunk: Buffer): void {
    if (this.decoder.failed) return;
    this.lastInputMs = this.ctx.options.clock.now();
    for (let at = 0; at < chunk.length; at += DECODE_SLICE_BYTES) {
      for (const e of this.decoder.push(chunk.subarray(at, at + DECODE_SLICE_BYTES))) {
        if (isHttpRequest(e)) {
          this.crossProtocol();
          return;
        }
        this.pending.push(e);
      }
      if (this.decoder.failed || this.pending.over(1)) {
        this.readingPaused = true;
        this.socket.pause();
        // What is not decoded yet waits in the socket until reading resumes.
        if (!this.decoder.failed && at + DECODE_SLICE_BYTES < chunk.length) {
          this.socket.unshift(chunk.subarray(at + DECODE_SLICE_BYTES));
        }
        break;
      }
    }
    void this.run();
  }

  /** An HTTP request reached this port (a browser form, a webhook): drop everything, say nothing. */
  private crossProtocol(): void {
    this.ctx.logger.warn(
      "okq: an HTTP request was sent to the RESP port (possible cross-protocol attack); connection closed",
      { client: this.id },
    );
    this.ctx.metrics.error(BRIDGE, "cross_protocol");
    this.pending.drop();
    this.socket.destroy();
  }

  private armIdleTimer(delayMs: number): void {
    if (this.ctx.options.idleTimeoutMs <= 0) return;
    this.idleTimer = this.ctx.options.clock.setTimer(() => this.onIdleTimer(), delayMs);
  }

  /**
   * Closes a connection idle for `idleTimeoutMs`: no input, no command running or waiting. A
   * finished connection whose client never closes its side goes the same way.
   */
  private onIdleTimer(): void {
    this.idleTimer = undefined;
    const { clock, idleTimeoutMs } = this.ctx.options;
    const left = this.lastInputMs + idleTimeoutMs - clock.now();
    if (left > 0 || (!this.finished && (this.running || this.pending.length > 0))) {
      this.armIdleTimer(left > 0 ? left : idleTimeoutMs);
      return;
    }
    this.ctx.metrics.error(BRIDGE, "idle_timeout");
    this.socket.destroy();
  }

  private onClosed(): void {
    if (this.idleTimer !== undefined) this.ctx.options.clock.clearTimer(this.idleTimer);
    this.idleTimer = undefined;
    this.finished = true;
    this.pending.drop();
    this.closed.abort();
    this.signalLink.dispose();
    this.ctx.shutdownSignal.removeEventListener("abort", this.onShutdown);
    this.ctx.consumers.register(this, []);
    this.onClose(this);
  }

  /** Ends the connection gracefully (once the written replies are flushed). */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.end();
  }

  private async run(): Promise<void> {
    if (this.running || this.finished) return;
    this.running = true;
    try {
      while (this.pending.length > 0 && !this.finished) {
        this.replies.hold(await this.next(), this.version);
        // Replies back up (the client does not read): stop reading and wait for 'drain' before
        // the next command, so a connection holds at most one run's replies plus its pending input.
        if (!this.mayHoldReplies() && !(await this.replies.flush())) {
          this.ctx.logger.warn("okq: client does not read its replies; closing", { client: this.id });
          this.ctx.metrics.error(BRIDGE, "drain_timeout");
          this.socket.destroy();
          return;
        }
        if (this.closeAfterReply) return this.finish();
        const mayRead = !this.decoder.failed && !this.ctx.shutdownSignal.aborted;
        // A connection with nothing left to run always reads again: the bridge-wide bound only
        // limits read-ahead, so no connection waits for another's commands.
        if (this.readingPaused && mayRead && (this.pending.length === 0 || !this.pending.over(2))) {
          this.readingPaused = false;
          this.socket.resume();
        }
      }
      if (this.ended || this.ctx.shutdownSignal.aborted) this.finish();
    } catch (e) {
      this.ctx.logger.error("okq: session failed", { error: e });
      this.socket.destroy();
    } finally {
      this.running = false;
    }
  }

  /** True when the replies so far may wait for the next command's (see the class comment). */
  private mayHoldReplies(): boolean {
    if (this.closeAfterReply || this.replies.full) return false;
    const next = this.pending.peek();
    if (next?.type !== "command" || !this.authenticated || this.ctx.shutdownSignal.aborted) return false;
    return COMMANDS.get(next.name)?.quick === true;
  }

  /** Executes the next pending command (or run of pushes) and returns its replies. */
  private async next(): Promise<Reply[]> {
    const event = this.pending.take();
    if (event.type === "fatal") {
      this.ctx.metrics.error(BRIDGE, "protocol");
      this.pending.drop();
      this.closeAfterReply = true; // the framing is lost: answer, then close
      return [error(`ERR ${event.message}`)];
    }
    if (event.type === "invalid") {
      this.ctx.metrics.error(BRIDGE, "invalid");
      return [INVALID_COMMAND];
    }
    const { name } = event;
    const rawName = event.args[0];
    const args = event.args.slice(1);
    const label = COMMANDS.has(name) ? name : "unknown";
    if (this.ctx.shutdownSignal.aborted) return [this.counted(label, SHUTTING_DOWN)];
    const run = this.authenticated ? collectRun(this.ctx, { name, args }, this.pending) : undefined;
    if (run !== undefined) {
      const replies = await executeRun(this.ctx, this.clients, run.key, run.items);
      for (let i = 0; i < replies.length; i++) {
        const r = replies[i] as Reply;
        if (r.t === "error") this.counted((run.items[i] as { name: string }).name, r);
      }
      return replies;
    }
    this.ctx.metrics.command(BRIDGE, label);
    return [this.counted(label, await this.execute(name, rawName, args))];
  }

  /** Stops reading (resumed by `run` when the pending limits allow). */
  private pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pause();
  }

  private counted(label: string, reply: Reply): Reply {
    if (reply.t === "error") this.ctx.metrics.error(BRIDGE, label);
    return reply;
  }

  private async execute(name: string, rawName: Buffer | undefined, args: Buffer[]): Promise<Reply> {
    const spec = COMMANDS.get(name);
    if (!spec) return error(`ERR unknown command ${goQuote(rawName ?? Buffer.alloc(0))}`);
    if (!this.authenticated && !spec.beforeAuth) return NOAUTH;
    if (args.length < spec.minArgs) return MISSING_ARGS;
    try {
      return await spec.run(this, args);
    } catch (e) {
      return errorReply(e, this.ctx.logger, name);
    }
  }
}
