import type * as http2 from "node:http2";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes, parseTimeout, trailerMux } from "@connectrpc/connect/protocol-connect";
import { asConnectError, parseMessage, readLimitError, serializeMessage } from "./codec.js";
import { NO_TIMEOUT, stringHeader, toNodeHeaders } from "./headers.js";
import type { HotMethod } from "./hot-methods.js";
import type { LeanCall, LeanOutcome } from "./lean-call.js";
import { type LeanEnv, type LeanPeer, peerOf, startLeanCall } from "./lean-env.js";
import { LeanExchange } from "./lean-stream.js";

/**
 * Serves one Connect unary POST (binary `application/proto` or `application/json`, no
 * compression) as connect-node's Connect handler does: the message with `content-length` on
 * success; on error the HTTP status of the code and the JSON error body (`code`, `message`,
 * `details` with the ErrorDetail); trailers travel as `trailer-*` headers. The body is read with
 * connect's checks: its `content-length` promise and the read limit.
 */
export function serveConnectUnary(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  hot: HotMethod,
  binary: boolean,
  env: LeanEnv,
): void {
  const header = headers["connect-timeout-ms"];
  // (Most calls have no deadline: nothing to parse.)
  const timeout = header === undefined ? NO_TIMEOUT : parseTimeout(stringHeader(header), Number.MAX_SAFE_INTEGER);
  const peer = peerOf(stream);
  const call = startLeanCall(headers, hot, env, peer, {
    protocolName: "connect",
    timeoutMs: timeout.timeoutMs,
    responseHeader: binary ? CONNECT_PROTO : CONNECT_JSON,
    responseTrailer: NO_TRAILERS,
  });
  const exchange = new ConnectUnaryExchange(stream, call, env, peer, binary, stringHeader(headers["content-length"]));
  if (timeout.error) exchange.fail(timeout.error);
  else if (exchange.hintError) exchange.fail(exchange.hintError);
  else exchange.readBody(headers);
}

const CONNECT_PROTO = Object.freeze({ "content-type": "application/proto" });
const CONNECT_JSON = Object.freeze({ "content-type": "application/json" });
const NO_TRAILERS = Object.freeze({});

class ConnectUnaryExchange extends LeanExchange implements LeanOutcome {
  /** The `content-length` promise, when the client made a valid one (connect's length hint). */
  private readonly hint: number | undefined;
  /** Set when the promise alone already breaks the read limit. */
  readonly hintError: ConnectError | undefined;
  private readonly chunks: Buffer[] = [];
  private received = 0;

  constructor(
    stream: http2.ServerHttp2Stream,
    call: LeanCall,
    env: LeanEnv,
    peer: LeanPeer,
    private readonly binary: boolean,
    contentLength: string | null,
  ) {
    super(stream, call, env, peer);
    const hint = contentLength === null ? Number.NaN : Number.parseInt(contentLength, 10);
    if (Number.isSafeInteger(hint) && hint >= 0) {
      this.hint = hint;
      if (hint > env.readMaxBytes) this.hintError = readLimitError(env.readMaxBytes, hint);
    }
  }

  protected chunk(chunk: Buffer): void {
    const received = this.received + chunk.length;
    if (this.hint !== undefined) {
      if (received > this.hint) {
        this.fail(this.promised(received));
        return;
      }
    } else if (received > this.env.readMaxBytes) {
      this.fail(readLimitError(this.env.readMaxBytes));
      return;
    }
    this.received = received;
    this.chunks.push(chunk);
  }

  protected end(): void {
    if (this.hint !== undefined && this.received < this.hint) {
      this.fail(this.promised(this.received));
      return;
    }
    const { chunks } = this;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.received);
    this.complete(body);
  }

  private promised(received: number): ConnectError {
    return new ConnectError(`protocol error: promised ${this.hint} bytes, received ${received}`, Code.InvalidArgument);
  }

  private complete(body: Uint8Array): void {
    const { call } = this;
    let input: MessageShape<DescMessage>;
    try {
      input = parseMessage(call.hot.method.input, this.binary, body, call.hot.decode);
    } catch (e) {
      this.fail(e);
      return;
    }
    call.invokeThen(input, this.env.interceptors, this);
  }

  /** @internal The implementation's output (through the interceptors): the response. */
  succeeded(output: unknown): void {
    const { call } = this;
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage(call.hot.method.output, this.binary, output as never, 0, call.hot.encode);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.send(200, bytes);
  }

  fail(e: unknown): void {
    if (this.answered) return;
    const { call } = this;
    const error = asConnectError(e);
    call.responseHeader.set("content-type", "application/json");
    error.metadata.forEach((value, key) => {
      call.responseHeader.set(key, value);
    });
    this.send(codeToHttpStatus(error.code), errorToJsonBytes(error, undefined));
  }

  private send(status: number, body: Uint8Array): void {
    const { call } = this;
    let headers: http2.OutgoingHttpHeaders;
    if (call.hasCustomMetadata()) {
      const header = trailerMux(call.responseHeader, call.responseTrailer);
      header.set("content-length", String(body.byteLength));
      headers = toNodeHeaders(header, { ":status": status });
    } else {
      headers = call.renderResponseHeader({ ":status": status });
      headers["content-length"] = String(body.byteLength);
    }
    this.respond(headers, body);
  }
}
