import * as http2 from "node:http2";
import { markServerEnded } from "./server-ended.js";

const { NGHTTP2_CANCEL } = http2.constants;

const kPrev = Symbol("bodyDeadlinePrev");
const kNext = Symbol("bodyDeadlineNext");
const kDueAt = Symbol("bodyDeadlineDueAt");
const kListed = Symbol("bodyDeadlineListed");
/** A stream as the list links it: the links and the deadline live on the stream itself. */
type ListedStream = http2.ServerHttp2Stream & {
  [kPrev]?: ListedStream | undefined;
  [kNext]?: ListedStream | undefined;
  [kDueAt]?: number;
  [kListed]?: boolean;
};

function ignore(): void {}

/**
 * The request-body deadline of HTTP/2 streams (HTTP/1.1's `requestTimeout` counterpart): a stream
 * whose body has not ended `timeoutMs` after its headers is reset with CANCEL, which gives back
 * the request bytes it holds.
 *
 * Every stream has the same timeout, so the streams' deadlines come in the order the streams
 * opened: they are kept in one list, oldest first, linked through the streams themselves, with
 * one timer (unref'd) for the oldest. A stream costs two links and a number, not a timer and an
 * `end` listener of its own (BENCHMARKS.md, "Unary calls without per-call timers"). A stream
 * leaves the list when it closes ({@link remove}) or when its deadline comes: then it is reset
 * only if its body has still not ended (its `end` was not emitted; a body nobody reads counts
 * as not ended, as before).
 */
export class BodyDeadlines {
  private head: ListedStream | undefined;
  private tail: ListedStream | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** `timeoutMs` > 0; `now` is the clock the deadlines are read on (ms). */
  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the deadline of a stream whose body is still to come. */
  add(stream: http2.ServerHttp2Stream): void {
    const s = stream as ListedStream;
    if (s[kListed]) return;
    s[kDueAt] = this.now() + this.timeoutMs;
    s[kListed] = true;
    s[kPrev] = this.tail;
    s[kNext] = undefined;
    if (this.tail === undefined) this.head = s;
    else this.tail[kNext] = s;
    this.tail = s;
    if (this.timer === undefined) this.arm(s[kDueAt]);
  }

  /** Ends a stream's deadline (it closed); nothing for a stream not listed. */
  remove(stream: http2.ServerHttp2Stream): void {
    const s = stream as ListedStream;
    if (!s[kListed]) return;
    s[kListed] = false;
    const prev = s[kPrev];
    const next = s[kNext];
    if (prev === undefined) this.head = next;
    else prev[kNext] = next;
    if (next === undefined) this.tail = prev;
    else next[kPrev] = prev;
    s[kPrev] = undefined;
    s[kNext] = undefined;
    // The timer stays armed for the old head: when it fires it re-arms for the new one (or stops).
  }

  /** Streams still listed (for tests). */
  size(): number {
    let n = 0;
    for (let s = this.head; s !== undefined; s = s[kNext]) n++;
    return n;
  }

  /** Stops the timer and forgets every stream (the server is gone). */
  clear(): void {
    while (this.head !== undefined) this.remove(this.head);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(dueAt: number): void {
    this.timer = setTimeout(expireDue, Math.max(1, dueAt - this.now()), this);
    this.timer.unref();
  }

  /** @internal The timer fired: resets the streams whose deadline came, re-arms for the next. */
  expire(): void {
    this.timer = undefined;
    const now = this.now();
    for (let s = this.head; s !== undefined && (s[kDueAt] as number) <= now; s = this.head) {
      this.remove(s);
      if (s.readableEnded || s.destroyed || s.closed) continue;
      // Closing a stream with an error code makes it emit 'error': without a listener that
      // would be an uncaught exception.
      s.on("error", ignore);
      markServerEnded(s);
      s.close(NGHTTP2_CANCEL);
    }
    if (this.head !== undefined) this.arm(this.head[kDueAt] as number);
  }
}

function expireDue(deadlines: BodyDeadlines): void {
  deadlines.expire();
}
