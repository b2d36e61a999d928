import type { Duplex } from "node:stream";
import { linkSignals, type TimerHandle } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import {
  COMMANDS,
  type CommandSession,
  executeRun,
  isKeyword,
  mayJoin,
  type RunItem,
  runBytes,
  runKey,
} from "./commands/index.js";
import { BRIDGE, type OkqContext } from "./context.js";
import { errorReply, INVALID_COMMAND, MISSING_ARGS, NOAUTH, SHUTTING_DOWN } from "./errors.js";
import { goQuote } from "./go-format.js";
import { ARG_OVERHEAD_BYTES, argumentBytes, RespDecoder, type RespEvent } from "./resp-decoder.js";
import { encodeReplies, error, type Reply, type RespVersion } from "./resp-encoder.js";

/**
 * Input is decoded this much at a time: past a read-ahead limit, the rest of a socket chunk (up
 * to 64 KiB) goes back unread, so a connection overshoots its limits by one slice at most.
 */
const DECODE_SLICE_BYTES = 16 * 1024;

/** Headroom of a bulk string over the message size limit (names, ids and framing). */
const BULK_HEADROOM_BYTES = 64 * 1024;

/**
 * Replies held back for one socket write (see {@link RespSession}) stop being held past this size
 * (or past `maxRunReplyBytes`, if smaller: a client that does not read still gets only bounded runs).
 */
const MAX_HELD_REPLY_BYTES = 256 * 1024;
/**
 * Runs of replies held back at most (see {@link MAX_HELD_REPLY_BYTES}): small replies (`:1`)
 * would otherwise let a busy pipeline hold tens of thousands, the first waiting for all the rest.
 */
const MAX_HELD_REPLY_RUNS = 64;

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
 * is a quick one (`CommandSpec.quick`: a push, pop, ack or peek), the replies so far are held (up to
 * {@link MAX_HELD_REPLY_BYTES} and `maxRunReplyBytes`, and {@link MAX_HELD_REPLY_RUNS} runs) and written together with the next ones. Every reply is still
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
  private readonly pending: RespEvent[] = [];
  /** Argument bytes of the pending commands (bounded by `maxPendingBytes`). */
  private pendingBytes = 0;
  private readonly closed = new AbortController();
  /** `signal`'s link to the shutdown signal, disposed on close. */
  private readonly signalLink: { dispose(): void };
  private running = false;
  private readingPaused = false;
  private ended = false;
  private finished = false;
  private lastInputMs: number;
  private idleTimer: TimerHandle | undefined;
  /** Encoded replies not written yet (see the class comment), and their bytes. */
  private held: Buffer[] = [];
  private heldBytes = 0;

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
    this.decoder = new RespDecoder({
      maxBulkBytes,
      maxArrayLength: o.maxArrayLength,
      maxCommandBytes: maxBulkBytes * 2,
      maxInlineBytes: o.maxInlineBytes,
      maxDepth: 8,
      argOverheadBytes: ARG_OVERHEAD_BYTES,
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
        this.addPendingBytes(eventBytes(e));
      }
      if (this.decoder.failed || this.overPendingLimit(1)) {
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

  /** Adds to this connection's read-ahead and the bridge's. */
  private addPendingBytes(n: number): void {
    this.pendingBytes += n;
    this.ctx.input.bytes += n;
  }

  /** Drops every command read ahead (the connection is closing). */
  private dropPending(): void {
    this.pending.length = 0;
    this.addPendingBytes(-this.pendingBytes);
  }

  /** An HTTP request reached this port (a browser form, a webhook): drop everything, say nothing. */
  private crossProtocol(): void {
    this.ctx.logger.warn(
      "okq: an HTTP request was sent to the RESP port (possible cross-protocol attack); connection closed",
      { client: this.id },
    );
    this.ctx.metrics.error(BRIDGE, "cross_protocol");
    this.dropPending();
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
    this.dropPending();
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
        const replies = await this.next();
        const bytes = encodeReplies(replies, this.version);
        this.held.push(bytes);
        this.heldBytes += bytes.length;
        // Replies back up (the client does not read): stop reading and wait for 'drain' before
        // the next command, so a connection holds at most one run's replies plus its pending input.
        if (!this.mayHoldReplies() && !(await this.writeHeld())) {
          this.ctx.logger.warn("okq: client does not read its replies; closing", { client: this.id });
          this.ctx.metrics.error(BRIDGE, "drain_timeout");
          this.socket.destroy();
          return;
        }
        if (this.closeAfterReply) return this.finish();
        const mayRead = !this.decoder.failed && !this.ctx.shutdownSignal.aborted;
        // A connection with nothing left to run always reads again: the bridge-wide bound only
        // limits read-ahead, so no connection waits for another's commands.
        if (this.readingPaused && mayRead && (this.pending.length === 0 || !this.overPendingLimit(2))) {
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
    const maxHeldBytes = Math.min(MAX_HELD_REPLY_BYTES, this.ctx.options.maxRunReplyBytes);
    if (this.closeAfterReply || this.heldBytes >= maxHeldBytes || this.held.length >= MAX_HELD_REPLY_RUNS) return false;
    const next = this.pending[0];
    if (next?.type !== "command" || !this.authenticated || this.ctx.shutdownSignal.aborted) return false;
    const name = next.args[0];
    return (
      name !== undefined && name.length <= 6 && COMMANDS.get(name.toString("latin1").toUpperCase())?.quick === true
    );
  }

  /** Writes the held replies in one write; false when the socket then does not drain in time. */
  private async writeHeld(): Promise<boolean> {
    const bytes = this.held.length === 1 ? (this.held[0] as Buffer) : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    return this.socket.write(bytes) || (await this.drainedPaused());
  }

  /**
   * True when the pending commands reach 1/`divisor` of their count or byte limit, or (with any
   * pending) the bridge's read-ahead reaches 1/`divisor` of `maxPendingBytesTotal`.
   */
  private overPendingLimit(divisor: number): boolean {
    const o = this.ctx.options;
    return (
      this.pending.length >= o.maxPendingCommands / divisor ||
      this.pendingBytes >= o.maxPendingBytes / divisor ||
      (this.pending.length > 0 && this.ctx.input.bytes >= o.maxPendingBytesTotal / divisor)
    );
  }

  private takePending(): RespEvent {
    const e = this.pending.shift() as RespEvent;
    this.addPendingBytes(-eventBytes(e));
    return e;
  }

  /** Executes the next pending command (or run of pushes) and returns its replies. */
  private async next(): Promise<Reply[]> {
    const event = this.takePending();
    if (event.type === "fatal") {
      this.ctx.metrics.error(BRIDGE, "protocol");
      this.dropPending();
      this.closeAfterReply = true; // the framing is lost: answer, then close
      return [error(`ERR ${event.message}`)];
    }
    if (event.type === "invalid") {
      this.ctx.metrics.error(BRIDGE, "invalid");
      return [INVALID_COMMAND];
    }
    const [rawName, ...args] = event.args;
    const name = (rawName ?? Buffer.alloc(0)).toString("latin1").toUpperCase();
    const label = COMMANDS.has(name) ? name : "unknown";
    if (this.ctx.shutdownSignal.aborted) return [this.counted(label, SHUTTING_DOWN)];
    const key = this.authenticated ? runKey(this.ctx, name, args) : undefined;
    if (key !== undefined) return this.pipelinedRun(key, { name, args });
    this.ctx.metrics.command(BRIDGE, label);
    return [this.counted(label, await this.execute(name, rawName, args))];
  }

  /** A pipelined run (see commands/runs.ts): the command plus its pending neighbours of the same key. */
  private async pipelinedRun(key: string, first: RunItem): Promise<Reply[]> {
    const items = [first];
    let bytes = runBytes(key, first);
    for (;;) {
      const next = this.pending[0];
      if (next?.type !== "command") break;
      const [raw, ...args] = next.args;
      const item = { name: (raw ?? Buffer.alloc(0)).toString("latin1").toUpperCase(), args };
      if (runKey(this.ctx, item.name, item.args) !== key) break;
      const more = runBytes(key, item);
      if (!mayJoin(items.length, bytes, more) || items.length >= this.maxRunLength(key)) break;
      this.takePending();
      items.push(item);
      bytes += more;
    }
    for (const i of items) this.ctx.metrics.command(BRIDGE, i.name);
    const replies = await executeRun(this.ctx, this.clients, key, items);
    return replies.map((r, i) => this.counted((items[i] as RunItem).name, r));
  }

  /** Most commands of a run: pops are bounded by their replies' size (`maxRunReplyBytes`). */
  private maxRunLength(key: string): number {
    if (!key.startsWith("pop\u0000")) return Number.POSITIVE_INFINITY;
    const o = this.ctx.options;
    return Math.max(1, Math.floor(o.maxRunReplyBytes / o.maxMessageBytes));
  }

  /** {@link drained} with reading paused meanwhile (resumed by `run` when the pending limits allow). */
  private drainedPaused(): Promise<boolean> {
    if (!this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
    return this.drained();
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

  /** Resolves true once the socket drains, false after `drainTimeoutMs` or when it closes. */
  private drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.socket.off("drain", onDrain);
        this.socket.off("close", onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), this.ctx.options.drainTimeoutMs);
      this.socket.on("drain", onDrain);
      this.socket.on("close", onClose);
    });
  }
}

function eventBytes(e: RespEvent): number {
  return e.type === "command" ? argumentBytes(e.args, ARG_OVERHEAD_BYTES) : 0;
}

/**
 * True for the decoder's cross-protocol event, and for a RESP command named `POST` or `Host:`
 * (Redis refuses both names in any form).
 */
function isHttpRequest(e: RespEvent): boolean {
  if (e.type === "fatal") return e.code === "CROSS_PROTOCOL";
  if (e.type !== "command") return false;
  const name = e.args[0];
  return isKeyword(name, "POST") || isKeyword(name, "HOST:");
}
