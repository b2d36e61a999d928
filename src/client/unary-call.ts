/**
 * One Connect unary call (binary) on an HTTP/2 session: serialize, send one HEADERS and one DATA
 * frame, collect the answer with plain stream events, check it the way connect-es does and parse
 * it. No per-call AbortController, async iterator or sentinel error: the costs that dominate
 * connect-node's client (docs/client.md).
 */
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { constants } from "node:http2";
import {
  type BinaryReadOptions,
  type BinaryWriteOptions,
  type DescMessage,
  type DescMethodUnary,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { appendHeaders, Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { type Compression, getAbortSignalReason } from "@connectrpc/connect/protocol";
import { errorFromJsonBytes, validateResponseWithCompression } from "@connectrpc/connect/protocol-connect";
import { LazyResponseMetadata, webHeadersFromNode } from "./headers.js";
import { connectErrorFromNode, connectErrorFromResetCode, isWriteAfterEnd } from "./node-errors.js";
import { watchSignal } from "./signals.js";

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

function serialize<I extends DescMessage>(s: CallSettings, desc: I, message: MessageShape<I>): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = toBinary(desc, message, s.binaryOptions);
  } catch (e) {
    throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
  }
  if (bytes.byteLength > s.writeMaxBytes) {
    throw new ConnectError(
      `message size ${bytes.byteLength} is larger than configured writeMaxBytes ${s.writeMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
  return bytes;
}

function parse<O extends DescMessage>(s: CallSettings, desc: O, bytes: Uint8Array): MessageShape<O> {
  if (bytes.byteLength > s.readMaxBytes) throw tooLarge(s.readMaxBytes, bytes.byteLength);
  try {
    return fromBinary(desc, bytes, s.binaryOptions);
  } catch (e) {
    throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
  }
}

function tooLarge(readMaxBytes: number, size: number | undefined): ConnectError {
  const what = size === undefined ? "message size" : `message size ${size}`;
  return new ConnectError(`${what} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
}

/** The content-length of an answer when it is a usable length, as connect-es reads it. */
function lengthHint(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number.parseInt(raw, 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function joinChunks(chunks: Buffer[], total: number): Uint8Array {
  // A plain Uint8Array view (not a Buffer), so bytes fields parse as connect-es gives them.
  const one = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  return new Uint8Array(one.buffer, one.byteOffset, one.byteLength);
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
  const { method, signal } = call;
  return new Promise<UnaryResponse<I, O>>((resolve, reject) => {
    let settled = false;
    let stream: ClientHttp2Stream | undefined;
    let timer: NodeJS.Timeout | undefined;
    let rstCode: number = constants.NGHTTP2_INTERNAL_ERROR;
    let unwatch: (() => void) | undefined;
    const onAbort = () => fail(ConnectError.from(getAbortSignalReason(signal!), Code.Canceled));
    const fail = (reason: unknown) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      unwatch?.();
      const error = connectErrorFromNode(reason);
      rstCode = error.code === Code.Canceled ? constants.NGHTTP2_CANCEL : constants.NGHTTP2_INTERNAL_ERROR;
      if (stream !== undefined && !stream.closed) stream.close(rstCode);
      reject(error);
    };
    const succeed = (response: UnaryResponse<I, O>) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      unwatch?.();
      resolve(response);
    };
    if (signal !== undefined) {
      if (signal.aborted) return onAbort();
      unwatch = watchSignal(signal, onAbort);
    }
    if (call.timeoutMs !== undefined) {
      timer = setTimeout(
        () => fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        call.timeoutMs,
      );
    }
    let body: Uint8Array;
    try {
      body = serialize(s, method.input, call.message);
    } catch (e) {
      return fail(e);
    }
    const send = (headers: OutgoingHttpHeaders, bytes: Uint8Array) => {
      s.sessionManager.request("POST", call.path, headers, {}).then((st) => {
        stream = st;
        if (settled) {
          if (!st.closed) st.close(rstCode);
          return;
        }
        receive(st);
        st.end(bytes);
      }, fail);
    };
    const receive = (st: ClientHttp2Stream) => {
      let head: IncomingHttpHeaders | undefined;
      let hint: number | undefined;
      let unaryError: ConnectError | undefined;
      let compression: Compression | undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      let ended = false;
      st.on("response", (h) => {
        head = h;
        const status = h[":status"] ?? 0;
        const contentType = h["content-type"];
        if (status !== 200 || contentType !== PROTO || h["content-encoding"] !== undefined) {
          try {
            const checked = validateResponseWithCompression(
              "unary",
              s.acceptCompression,
              true,
              status,
              webHeadersFromNode(h),
            );
            compression = checked.compression;
            unaryError = checked.isUnaryError ? checked.unaryError : undefined;
          } catch (e) {
            return fail(e);
          }
        }
        hint = lengthHint(h["content-length"]);
        if (hint !== undefined && hint > s.readMaxBytes) fail(tooLarge(s.readMaxBytes, hint));
      });
      st.on("data", (chunk: Buffer) => {
        received += chunk.byteLength;
        if (hint !== undefined && received > hint) {
          return fail(
            new ConnectError(`protocol error: promised ${hint} bytes, received ${received}`, Code.InvalidArgument),
          );
        }
        if (hint === undefined && received > s.readMaxBytes) return fail(tooLarge(s.readMaxBytes, undefined));
        chunks.push(chunk);
        s.sessionManager.notifyResponseByteRead(st);
      });
      st.on("end", () => {
        ended = true;
        if (settled || head === undefined) return;
        if (hint !== undefined && received < hint) {
          return fail(
            new ConnectError(`protocol error: promised ${hint} bytes, received ${received}`, Code.InvalidArgument),
          );
        }
        const bytes = joinChunks(chunks, received);
        if (compression === undefined) return finish(head, bytes);
        const raw = head;
        compression.decompress(bytes, s.readMaxBytes).then((b) => finish(raw, b), fail);
      });
      st.on("error", (e) => {
        if (st.writableEnded && isWriteAfterEnd(e)) return;
        fail(e);
      });
      st.on("close", () => {
        const reset = connectErrorFromResetCode(st.rstCode);
        if (reset !== undefined) fail(reset);
        else if (!ended) fail(new ConnectError("Premature close", Code.Internal));
      });
      const finish = (raw: IncomingHttpHeaders, bytes: Uint8Array) => {
        const meta = new LazyResponseMetadata(raw);
        try {
          if (unaryError !== undefined)
            throw errorFromJsonBytes(bytes, appendHeaders(meta.header, meta.trailer), unaryError);
          const message = parse(s, method.output, bytes);
          succeed({
            stream: false,
            service: method.parent,
            method,
            message,
            get header() {
              return meta.header;
            },
            get trailer() {
              return meta.trailer;
            },
          });
        } catch (e) {
          fail(e);
        }
      };
    };
    if (s.sendCompression === null) return send(call.headers, body);
    const headers = { ...call.headers };
    delete headers["content-encoding"];
    if (body.byteLength <= s.compressMinBytes) return send(headers, body);
    const compress = s.sendCompression;
    compress.compress(body).then((compressed) => {
      if (settled) return;
      headers["content-encoding"] = compress.name;
      send(headers, compressed);
    }, fail);
  });
}
