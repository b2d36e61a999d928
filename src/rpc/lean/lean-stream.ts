/**
 * One lean call on its HTTP/2 stream ({@link LeanExchange}): its body read against the request
 * budget, its abort when the stream closes early, and its response written. What the call starts
 * from (the shared environment, the peer, the {@link LeanCall}) is lean-env.ts.
 *
 * @module
 */
import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ByteBudget } from "../../util/index.js";
import type { LeanCall } from "./lean-call.js";
import { budgetOf, type LeanEnv, type LeanPeer } from "./lean-env.js";

const { NGHTTP2_NO_ERROR } = http2.constants;

const RESETS: Record<number, readonly [string, Code]> = {
  1: ["PROTOCOL_ERROR", Code.Internal],
  2: ["INTERNAL_ERROR", Code.Internal],
  3: ["FLOW_CONTROL_ERROR", Code.Internal],
  4: ["SETTINGS_TIMEOUT", Code.Internal],
  6: ["FRAME_SIZE_ERROR", Code.Internal],
  7: ["REFUSED_STREAM", Code.Unavailable],
  8: ["CANCEL", Code.Canceled],
  9: ["COMPRESSION_ERROR", Code.Internal],
  10: ["CONNECT_ERROR", Code.Internal],
  11: ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
  12: ["INADEQUATE_SECURITY", Code.PermissionDenied],
  13: ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
};

/**
 * The reason connect-node aborts a call's signal with when its HTTP/2 stream closes early (as its
 * `connectErrorFromH2ResetCode`): the reset code decides the code; other closes abort plainly.
 */
function closeReason(rstCode: number): unknown {
  const known = RESETS[rstCode];
  if (known === undefined) return new DOMException("This operation was aborted", "AbortError");
  return new ConnectError(`http/2 stream closed with error code ${known[0]} (0x${rstCode.toString(16)})`, known[1]);
}

const kExchange = Symbol("leanExchange");
type TaggedStream = http2.ServerHttp2Stream & { [kExchange]?: LeanExchange };

// Stream listeners shared by every call (`this` is the stream): no closures per call. They are
// added with `on`, not `once` (no wrapper per call): each of their events comes once per stream.
function onData(this: TaggedStream, chunk: Buffer): void {
  this[kExchange]?.data(chunk);
}
function onEnd(this: TaggedStream): void {
  this[kExchange]?.bodyEnded();
}
function onClose(this: TaggedStream): void {
  this[kExchange]?.closed();
}
export function onWantTrailers(this: TaggedStream): void {
  this[kExchange]?.sendTrailers();
}
function ignore(): void {}

/**
 * One lean call on its HTTP/2 stream: reads the body (counting it against the shared budget),
 * aborts the call when the stream closes before the response is out, and writes the response.
 * Subclasses parse the body and decide the response for their protocol.
 */
export abstract class LeanExchange {
  protected answered = false;
  private droppedBytes = 0;
  /** The stream is to be reset once its response is out (it dropped too much after the answer). */
  private resetArmed = false;
  private takenBytes = 0;
  protected trailers: http2.OutgoingHttpHeaders | undefined;
  /** The credentials check from the headers while it runs (it never rejects). */
  private pendingCheck: Promise<void> | undefined;
  /** This client's share of the request budget. */
  private readonly budget: ByteBudget | undefined;

  constructor(
    protected readonly stream: http2.ServerHttp2Stream,
    protected readonly call: LeanCall,
    protected readonly env: LeanEnv,
    protected readonly peer: LeanPeer,
  ) {
    (stream as TaggedStream)[kExchange] = this;
    this.budget = env.budget === undefined ? undefined : budgetOf(env.budget, peer);
    env.track(call);
    // Stream errors end in 'close' with a reset code; the call learns of it there.
    stream.on("error", ignore);
    stream.on("close", onClose);
  }

  /** A body chunk, after it was counted. */
  protected abstract chunk(chunk: Buffer): void;
  /** The body ended (and no response was decided yet). */
  protected abstract end(): void;
  /** Answers the call with an error in the protocol's form. */
  abstract fail(error: unknown): void;

  /**
   * Starts reading the request body. With auth on, the headers' credentials are checked at the
   * same time, and a refusal answers the call at once, without waiting for the rest of the body.
   */
  readBody(headers: http2.IncomingHttpHeaders): void {
    this.stream.on("data", onData);
    this.stream.on("end", onEnd);
    const check = this.env.authenticate?.(headers, this.peer);
    if (check === undefined) return;
    // Settles either way; a body that ends first waits for it (one check, one failure counted).
    this.pendingCheck = check.then(
      () => {
        this.pendingCheck = undefined;
      },
      (e: unknown) => {
        this.pendingCheck = undefined;
        if (this.answered) return;
        this.fail(e);
        // What it read is given back now; what the client still sends is dropped (see `data`).
        this.giveBack();
      },
    );
  }

  /** @internal A chunk arrived. */
  data(chunk: Buffer): void {
    if (this.answered) {
      // Answered before the body ended (an error): what still comes is dropped, up to one more
      // request's worth; past that the stream is reset with NO_ERROR (RFC 9113 §8.1), once the
      // response is out (a reset queued before its trailers would overtake them).
      this.droppedBytes += chunk.length;
      if (this.droppedBytes > this.env.readMaxBytes && !this.resetArmed) {
        this.resetArmed = true;
        resetOnceAnswered(this.stream);
      }
      return;
    }
    const { budget } = this;
    if (budget !== undefined) {
      if (!budget.tryTake(chunk.length)) {
        this.fail(this.env.busyError());
        return;
      }
      this.takenBytes += chunk.length;
    }
    this.chunk(chunk);
  }

  /** @internal The client ended the body. */
  bodyEnded(): void {
    if (this.answered) return;
    if (this.pendingCheck === undefined) {
      this.end();
      return;
    }
    void this.pendingCheck.then(() => {
      if (!this.answered) this.end();
    });
  }

  /** @internal The stream closed: a call still unanswered is aborted; the bytes go back. */
  closed(): void {
    const { call, env } = this;
    if (!this.answered) call.abort(closeReason(this.stream.rstCode ?? NGHTTP2_NO_ERROR));
    this.answered = true;
    call.finish();
    env.untrack(call);
    this.giveBack();
  }

  private giveBack(): void {
    if (this.takenBytes > 0) this.budget?.release(this.takenBytes);
    this.takenBytes = 0;
  }

  /** @internal The stream is ready for the trailers. */
  sendTrailers(): void {
    const { stream, trailers } = this;
    if (trailers !== undefined && !stream.destroyed) stream.sendTrailers(trailers);
  }

  /** Writes a response: status and headers, an optional body, then trailers (when given). */
  protected respond(
    headers: http2.OutgoingHttpHeaders,
    body: Uint8Array | undefined,
    trailers?: http2.OutgoingHttpHeaders,
  ): void {
    if (this.answered) return;
    this.answered = true;
    this.call.finish();
    const { stream } = this;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    // (`headers` may be a shared frozen object: Node's `respond` copies it and adds `date` itself.)
    try {
      if (trailers !== undefined) {
        this.trailers = trailers;
        stream.respond(headers, WAIT_FOR_TRAILERS);
        stream.on("wantTrailers", onWantTrailers);
        stream.end(body);
      } else if (body === undefined || body.length === 0) {
        stream.respond(headers);
        stream.end(body);
      } else {
        // The body, then the end once the body's write is done: an end given with the body makes
        // Node send END_STREAM on the body's DATA frame, the stream closes (and is destroyed)
        // before the write reports done, and Node then builds an ERR_STREAM_DESTROYED error with
        // its stack trace for nothing (see BENCHMARKS.md, 2026-12-07). The client receives the
        // same message: the END_STREAM comes on an empty DATA frame after the body.
        stream.respond(headers);
        stream.write(body, () => endAfterWrite(stream));
      }
    } catch {
      // The session went away between the check and the write: nothing is left to answer.
      stream.destroy();
    }
  }
}

/** Resets `stream` with NO_ERROR after its response (trailers included) has gone out. */
function resetOnceAnswered(stream: http2.ServerHttp2Stream): void {
  if (stream.destroyed) return;
  const reset = () => {
    if (!stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
  };
  if (stream.writableFinished) setImmediate(reset);
  else stream.once("finish", () => setImmediate(reset));
}

/** The options of a response with trailers (Node copies them: one frozen object serves all). */
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });

/** Ends a stream whose body was written (unless it closed meanwhile: a client reset). */
function endAfterWrite(stream: http2.ServerHttp2Stream): void {
  if (!stream.destroyed && !stream.writableEnded) stream.end();
}
