import type * as http2 from "node:http2";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { endStreamFlag, parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { asConnectError, parseMessage } from "./codec.js";
import {
  COMPRESSED_FLAG,
  connectEndStream,
  ENVELOPE_HEADER_BYTES,
  type Envelope,
  EnvelopeSplitter,
  sealEnvelope,
} from "./grpc-envelopes.js";
import { copyHeaders, stringHeader } from "./headers.js";
import type { HotStreamMethod } from "./hot-methods.js";
import type { LeanCall } from "./lean-call.js";
import { type LeanEnv, type LeanPeer, peerOf, startLeanCall } from "./lean-env.js";
import { LeanExchange, onWantTrailers } from "./lean-stream.js";
import { streamChainOf, streamRequest } from "./stream-chain.js";

/** The wire protocols of a lean server stream (binary only: JSON variants go to connect-node). */
type StreamProtocol = "grpc" | "connect";

const GRPC_HEADER = Object.freeze({ "content-type": "application/grpc+proto" });
const GRPC_OK = Object.freeze({ "grpc-status": "0" });
const CONNECT_HEADER = Object.freeze({ "content-type": "application/connect+proto" });
const NO_TRAILERS = Object.freeze({});

/**
 * Serves one server-streaming call (Subscribe) over gRPC or the Connect streaming protocol, on
 * HTTP/2 without compression, as connect-node's handlers do:
 *
 * - The request body is exactly one envelope, read with connect's checks (read limit as a header
 *   arrives, parse as an envelope completes, missing or extra message at the end); Connect's
 *   end-stream envelopes in a request are skipped, as connect does.
 * - The server interceptors run with a stream request whose `message` is an async iterable of the
 *   request message, so errors of the body, the deadline header and the credentials check reach
 *   them from inside the chain, exactly where connect-node raises them.
 * - Response headers go out with the first response message (or with the end of a stream that
 *   sends none), as connect-node sends them. Each message is one envelope written by the method's
 *   hand-written encoder; a write the stream does not take at once (`false`) waits for 'drain'
 *   before the next message is taken from the implementation.
 * - The end: gRPC trailers (`grpc-status`, `grpc-message`, `grpc-status-details-bin`), or
 *   Connect's end-stream envelope (flag 0b10) with its JSON.
 *
 * A client's reset, the deadline and shutdown abort the call's signal (the implementation's
 * generator then ends and gives back what it holds).
 */
export function serveServerStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  hot: HotStreamMethod,
  protocol: StreamProtocol,
  env: LeanEnv,
): void {
  const grpc = protocol === "grpc";
  const timeout = grpc
    ? parseGrpcTimeout(stringHeader(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER)
    : parseConnectTimeout(stringHeader(headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER);
  const peer = peerOf(stream);
  const call = startLeanCall(headers, hot, env, peer, {
    protocolName: protocol,
    timeoutMs: timeout.timeoutMs,
    responseHeader: grpc ? GRPC_HEADER : CONNECT_HEADER,
    responseTrailer: grpc ? GRPC_OK : NO_TRAILERS,
  });
  // The credentials check is this exchange's own: its refusal is the request's error (below).
  const exchange = new ServerStreamExchange(stream, call, { ...env, authenticate: undefined }, peer, hot, grpc);
  exchange.start(headers, timeout.error, env.authenticate?.(headers, peer));
}

/** What the request body held, in order: messages, then at most one error. */
type BodyItem = { readonly message: MessageShape<DescMessage> } | { readonly error: unknown };

class ServerStreamExchange extends LeanExchange {
  private readonly splitter: EnvelopeSplitter;
  private readonly items: BodyItem[] = [];
  private bodySettled = false;
  private settleBody: () => void = () => {};
  /** Resolves once the body is read as far as the call needs it (two messages, an error, or its end). */
  readonly bodyRead = new Promise<void>((resolve) => {
    this.settleBody = resolve;
  });
  /** The credentials check, when auth is on; it rejects with the call's error. */
  check: Promise<void> | undefined;
  /** The response ended, or the stream closed. */
  private ended = false;
  private gone = false;
  private wakeWriter: (() => void) | undefined;

  constructor(
    stream: http2.ServerHttp2Stream,
    call: LeanCall,
    env: LeanEnv,
    peer: LeanPeer,
    private readonly hot: HotStreamMethod,
    private readonly grpc: boolean,
  ) {
    super(stream, call, env, peer);
    this.splitter = new EnvelopeSplitter(env.readMaxBytes);
  }

  /** Starts reading the body (unless the deadline header is already an error) and runs the call. */
  start(headers: http2.IncomingHttpHeaders, timeoutError: ConnectError | undefined, check: Promise<void> | undefined) {
    // Its refusal is read (and rethrown) by the request iterable, or not at all after a deadline error.
    check?.catch(() => {});
    if (timeoutError !== undefined) {
      this.record({ error: timeoutError });
    } else {
      this.check = check;
      this.readBody(headers);
    }
    void this.run();
  }

  protected chunk(chunk: Buffer): void {
    if (this.bodySettled) return;
    try {
      for (const envelope of this.splitter.push(chunk)) this.take(envelope);
    } catch (e) {
      this.record({ error: e });
    }
  }

  private take(envelope: Envelope): void {
    if (this.bodySettled) return;
    if ((envelope.flags & COMPRESSED_FLAG) === COMPRESSED_FLAG) {
      throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
    }
    if (!this.grpc && (envelope.flags & endStreamFlag) === endStreamFlag) return;
    this.record({ message: parseMessage(this.hot.method.input, true, envelope.data, this.hot.decode) });
  }

  protected end(): void {
    if (this.bodySettled) return;
    try {
      this.splitter.end();
    } catch (e) {
      this.record({ error: e });
      return;
    }
    this.finishBody();
  }

  /** The request budget ran out while the body was read: that is the request's error. */
  fail(error: unknown): void {
    if (!this.bodySettled) this.record({ error });
  }

  private record(item: BodyItem): void {
    this.items.push(item);
    // Two messages are already one too many; an error ends what the body can tell.
    if ("error" in item || this.items.length >= 2) this.finishBody();
  }

  private finishBody(): void {
    if (this.bodySettled) return;
    this.bodySettled = true;
    // Nothing more of the body is wanted: flow control holds back what the client still sends.
    if (!this.stream.destroyed) this.stream.pause();
    this.settleBody();
  }

  /** What the request iterable yields: the messages of the body, then its error (if any). */
  *bodyItems(): Generator<MessageShape<DescMessage>> {
    for (const item of this.items) {
      if ("error" in item) throw item.error;
      yield item.message;
    }
  }

  /** @internal The stream closed: a call still streaming is aborted (by the base class). */
  override closed(): void {
    this.gone = true;
    this.wakeWriter?.();
    super.closed();
  }

  /** Runs the interceptors and the implementation, and writes what it yields. */
  private async run(): Promise<void> {
    const { call, hot } = this;
    let it: AsyncIterator<unknown> | undefined;
    let finished = false;
    let error: unknown;
    try {
      const res = await streamChainOf(hot, this.env.interceptors)(streamRequest(call, hot, requestMessages(this)));
      copyHeaders(res.header, call.responseHeader);
      it = res.message[Symbol.asyncIterator]();
      for (;;) {
        const next = await it.next();
        if (next.done === true) {
          finished = true;
          break;
        }
        if (this.gone) break;
        if (!this.write(this.encode(next.value)) && !this.gone) await this.drained();
        if (this.gone) break;
      }
      if (finished) copyHeaders(res.trailer, call.responseTrailer);
    } catch (e) {
      error = e;
    } finally {
      // Stopped before its end (the client went away, or a response could not be written): the
      // implementation is closed, so its own cleanup runs (leases, consumer counts, links).
      if (!finished) await it?.return?.(undefined).catch(() => {});
    }
    if (this.gone && error === undefined) return;
    this.endResponse(error);
  }

  /** One response message as an envelope (connect's serialization error if the encoder fails). */
  private encode(output: unknown): Buffer {
    let out: Buffer;
    try {
      out = this.hot.encode(output, ENVELOPE_HEADER_BYTES);
    } catch (e) {
      throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
    }
    return sealEnvelope(out, 0);
  }

  /** Writes a chunk, the headers first if they are not out yet; false: wait for 'drain'. */
  private write(chunk: Buffer): boolean {
    const { stream } = this;
    if (stream.destroyed || stream.closed) {
      // Nothing more can be written: take no more from the implementation.
      this.gone = true;
      return true;
    }
    try {
      if (!stream.headersSent) this.sendHeaders();
      return stream.write(chunk);
    } catch {
      stream.destroy();
      return true;
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.wakeWriter = undefined;
        this.stream.off("drain", wake);
        resolve();
      };
      this.wakeWriter = wake;
      this.stream.on("drain", wake);
    });
  }

  private sendHeaders(): void {
    // Node's respond adds the `date` header, as connect-node's responses have it.
    const headers = this.call.renderResponseHeader({ ":status": 200 });
    if (this.grpc) {
      this.stream.respond(headers, { waitForTrailers: true });
      this.stream.on("wantTrailers", onWantTrailers);
    } else {
      this.stream.respond(headers);
    }
  }

  /** Ends the response: gRPC trailers with the status, or Connect's end-stream envelope. */
  private endResponse(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.answered = true;
    const { call, stream } = this;
    call.finish();
    // As connect's handlers do once the response is done: the call's signal aborts.
    call.abort(error ?? new DOMException("This operation was aborted", "AbortError"));
    if (stream.destroyed || stream.closed) return;
    // What the client still sends is read and dropped (see LeanExchange `data`), so that its side
    // ends and the stream closes; a paused stream would stay open.
    stream.resume();
    try {
      if (this.grpc) {
        if (error !== undefined) setTrailerStatus(call.responseTrailer, asConnectError(error));
        this.trailers = call.renderResponseTrailer();
        if (!stream.headersSent) this.sendHeaders();
        stream.end();
        return;
      }
      const out = connectEndStream(call.responseTrailer, error !== undefined ? asConnectError(error) : undefined);
      if (!stream.headersSent) this.sendHeaders();
      stream.end(out);
    } catch {
      // The session went away between the check and the write: nothing is left to answer.
      stream.destroy();
    }
  }
}

/** The request message as connect-node's handlers hand it to the chain: an async iterable. */
async function* requestMessages(exchange: ServerStreamExchange): AsyncGenerator<MessageShape<DescMessage>> {
  if (exchange.check !== undefined) await exchange.check;
  await exchange.bodyRead;
  yield* exchange.bodyItems();
}
