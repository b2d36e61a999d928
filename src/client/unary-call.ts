/**
 * One Connect unary call (binary) on an HTTP/2 session: serialize, send one HEADERS and one DATA
 * frame, collect the answer with plain stream events, check it the way connect-es does and parse
 * it. No per-call AbortController, async iterator or sentinel error: the costs that dominate
 * connect-node's client (docs/client.md).
 */
import type { ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader, OutgoingHttpHeaders } from "node:http2";
import { constants } from "node:http2";
import type {
  BinaryReadOptions,
  BinaryWriteOptions,
  DescMessage,
  DescMethodUnary,
  MessageShape,
} from "@bufbuild/protobuf";
import { appendHeaders, Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { type Compression, getAbortSignalReason } from "@connectrpc/connect/protocol";
import { errorFromJsonBytes, validateResponseWithCompression } from "@connectrpc/connect/protocol-connect";
import { joinChunks, lengthHint, parse, promised, serialize, tooLarge } from "./body.js";
import { LeanUnaryResponse, webHeadersFromNode } from "./headers.js";
import { connectErrorFromNode, connectErrorFromResetCode, isWriteAfterEnd } from "./node-errors.js";
import { type SignalWatcher, watchSignal } from "./signals.js";

/** What the transport needs of an HTTP/2 session manager (connect-node's `Http2SessionManager` fits). */
export interface SessionManagerLike {
  /** `scheme://host:port` the sessions connect to. */
  readonly authority: string;
  /** Opens a stream, connecting (again) first if needed. */
  request(method: string, path: string, headers: OutgoingHttpHeaders, options: object): Promise<ClientHttp2Stream>;
  /** Tells the keep-alive logic that the stream's connection delivered bytes. */
  notifyResponseByteRead(stream: ClientHttp2Stream): void;
}

/** The transport's settings every call uses. */
export interface CallSettings {
  sessionManager: SessionManagerLike;
  readMaxBytes: number;
  writeMaxBytes: number;
  compressMinBytes: number;
  acceptCompression: Compression[];
  sendCompression: Compression | null;
  binaryOptions: Partial<BinaryReadOptions & BinaryWriteOptions> | undefined;
}

/** One call: `path` is the URL's path and query; `headers` has no pseudo-headers. */
export interface UnaryCallInput<I extends DescMessage, O extends DescMessage> {
  method: DescMethodUnary<I, O>;
  path: string;
  headers: OutgoingHttpHeaders;
  message: MessageShape<I>;
  /** Aborting it fails the call with Canceled (the signal's reason). */
  signal: AbortSignal | undefined;
  /** A deadline in ms: the call fails with DeadlineExceeded after it (undefined: none). */
  timeoutMs: number | undefined;
}

const PROTO = "application/proto";

/** The Node stream of a call, carrying the call (listeners are shared, `this` is the stream). */
type CallStream = ClientHttp2Stream & { [kCall]?: UnaryCall };
const kCall = Symbol("call");

function onResponse(this: CallStream, h: IncomingHttpHeaders & IncomingHttpStatusHeader) {
  this[kCall]!.response(h);
}
function onData(this: CallStream, chunk: Buffer) {
  this[kCall]!.data(this, chunk);
}
function onEnd(this: CallStream) {
  this[kCall]!.end();
}
function onError(this: CallStream, e: unknown) {
  if (this.writableEnded && isWriteAfterEnd(e)) return;
  this[kCall]!.fail(e);
}
function onClose(this: CallStream) {
  const call = this[kCall]!;
  const reset = connectErrorFromResetCode(this.rstCode);
  if (reset !== undefined) call.fail(reset);
  else if (!call.ended) call.fail(new ConnectError("Premature close", Code.Internal));
}
function onDeadline(call: UnaryCall) {
  call.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded));
}

/**
 * The state of one call: one object per call, with the stream's listeners and the timer shared
 * by all calls (closures per call were a visible share of the client's garbage).
 */
class UnaryCall implements SignalWatcher {
  settled = false;
  ended = false;
  private stream: CallStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watched: Set<SignalWatcher> | undefined;
  private rstCode: number = constants.NGHTTP2_INTERNAL_ERROR;
  private head: IncomingHttpHeaders | undefined;
  private hint: number | undefined;
  private unaryError: ConnectError | undefined;
  private compression: Compression | undefined;
  private chunks: Buffer[] = [];
  private received = 0;

  constructor(
    private readonly s: CallSettings,
    private readonly method: DescMethodUnary,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (r: UnaryResponse) => void,
    private readonly reject: (e: ConnectError) => void,
  ) {}

  start(call: UnaryCallInput<DescMessage, DescMessage>): void {
    const { signal, s } = this;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.abort();
        return;
      }
      this.watched = watchSignal(signal, this);
    }
    if (call.timeoutMs !== undefined) this.timer = setTimeout(onDeadline, call.timeoutMs, this);
    let body: Uint8Array;
    try {
      body = serialize(s, call.method.input, call.message);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (s.sendCompression === null) {
      this.send(call.path, call.headers, body);
      return;
    }
    const headers = { ...call.headers };
    delete headers["content-encoding"];
    if (body.byteLength <= s.compressMinBytes) {
      this.send(call.path, headers, body);
      return;
    }
    const compress = s.sendCompression;
    compress.compress(body).then(
      (compressed) => {
        if (this.settled) return;
        headers["content-encoding"] = compress.name;
        this.send(call.path, headers, compressed);
      },
      (e) => this.fail(e),
    );
  }

  /** The signal aborted: Canceled with its reason. */
  abort(): void {
    this.fail(ConnectError.from(getAbortSignalReason(this.signal!), Code.Canceled));
  }

  fail(reason: unknown): void {
    if (this.settled) return;
    this.done();
    const error = connectErrorFromNode(reason);
    this.rstCode = error.code === Code.Canceled ? constants.NGHTTP2_CANCEL : constants.NGHTTP2_INTERNAL_ERROR;
    if (this.stream !== undefined && !this.stream.closed) this.stream.close(this.rstCode);
    this.reject(error);
  }

  private done(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.watched?.delete(this);
  }

  private send(path: string, headers: OutgoingHttpHeaders, bytes: Uint8Array): void {
    this.s.sessionManager.request("POST", path, headers, {}).then(
      (st: CallStream) => {
        this.stream = st;
        if (this.settled) {
          if (!st.closed) st.close(this.rstCode);
          return;
        }
        st[kCall] = this;
        st.on("response", onResponse);
        st.on("data", onData);
        st.on("end", onEnd);
        st.on("error", onError);
        st.on("close", onClose);
        st.end(bytes);
      },
      (e) => this.fail(e),
    );
  }

  response(h: IncomingHttpHeaders & IncomingHttpStatusHeader): void {
    this.head = h;
    const status = h[":status"] ?? 0;
    if (status !== 200 || h["content-type"] !== PROTO || h["content-encoding"] !== undefined) {
      try {
        const headers = webHeadersFromNode(h);
        const checked = validateResponseWithCompression("unary", this.s.acceptCompression, true, status, headers);
        this.compression = checked.compression;
        this.unaryError = checked.isUnaryError ? checked.unaryError : undefined;
      } catch (e) {
        this.fail(e);
        return;
      }
    }
    this.hint = lengthHint(h["content-length"]);
    if (this.hint !== undefined && this.hint > this.s.readMaxBytes) this.fail(tooLarge(this.s.readMaxBytes, this.hint));
  }

  data(st: CallStream, chunk: Buffer): void {
    const { hint, s } = this;
    this.received += chunk.byteLength;
    if (hint !== undefined && this.received > hint) {
      this.fail(promised(hint, this.received));
      return;
    }
    if (hint === undefined && this.received > s.readMaxBytes) {
      this.fail(tooLarge(s.readMaxBytes, undefined));
      return;
    }
    this.chunks.push(chunk);
    s.sessionManager.notifyResponseByteRead(st);
  }

  end(): void {
    this.ended = true;
    const { head, hint, received } = this;
    if (this.settled || head === undefined) return;
    if (hint !== undefined && received < hint) {
      this.fail(promised(hint, received));
      return;
    }
    const bytes = joinChunks(this.chunks, received);
    if (this.compression === undefined) {
      this.finish(head, bytes);
      return;
    }
    this.compression.decompress(bytes, this.s.readMaxBytes).then(
      (b) => this.finish(head, b),
      (e) => this.fail(e),
    );
  }

  private finish(head: IncomingHttpHeaders, bytes: Uint8Array): void {
    if (this.settled) return;
    try {
      if (this.unaryError !== undefined) {
        // Only the header and trailer of this one are read.
        const error = new LeanUnaryResponse(this.method, head, undefined as never);
        throw errorFromJsonBytes(bytes, appendHeaders(error.header, error.trailer), this.unaryError);
      }
      const response = new LeanUnaryResponse(this.method, head, parse(this.s, this.method.output, bytes));
      this.done();
      this.resolve(response);
    } catch (e) {
      this.fail(e);
    }
  }
}

/**
 * Runs one call. Every failure is a ConnectError with connect-node's code and message: the
 * signal's reason (Canceled), "the operation timed out" (DeadlineExceeded), the Connect error
 * body of a non-200 answer, or the HTTP status, size limit, protocol or network error.
 */
export function callUnary<I extends DescMessage, O extends DescMessage>(
  s: CallSettings,
  call: UnaryCallInput<I, O>,
): Promise<UnaryResponse<I, O>> {
  return new Promise<UnaryResponse<I, O>>((resolve, reject) => {
    const state = new UnaryCall(
      s,
      call.method as DescMethodUnary,
      call.signal,
      resolve as (r: UnaryResponse) => void,
      reject,
    );
    state.start(call as unknown as UnaryCallInput<DescMessage, DescMessage>);
  });
}
