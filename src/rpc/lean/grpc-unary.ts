import type * as http2 from "node:http2";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { asConnectError, parseMessage, serializeMessage } from "./codec.js";
import { COMPRESSED_FLAG, EnvelopeSplitter } from "./grpc-envelopes.js";
import { NO_TIMEOUT, stringHeader } from "./headers.js";
import type { HotMethod } from "./hot-methods.js";
import type { LeanCall, LeanOutcome } from "./lean-call.js";
import { type LeanEnv, type LeanPeer, peerOf, startLeanCall } from "./lean-env.js";
import { LeanExchange } from "./lean-stream.js";

/**
 * Serves one unary gRPC call (HTTP/2, no compression) as connect-node's gRPC handler does: a
 * 200 with the content type, the response message in one envelope, and `grpc-status` (plus
 * `grpc-message` and `grpc-status-details-bin` on error) in trailers; never trailers-only. The
 * body must hold exactly one envelope; its checks run in connect's order (size limit as a header
 * arrives, parse as each envelope completes, missing or extra message at the end).
 */
export function serveGrpcUnary(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  hot: HotMethod,
  binary: boolean,
  env: LeanEnv,
): void {
  const header = headers["grpc-timeout"];
  // (Most calls have no deadline: nothing to parse.)
  const timeout = header === undefined ? NO_TIMEOUT : parseTimeout(stringHeader(header), Number.MAX_SAFE_INTEGER);
  const peer = peerOf(stream);
  const call = startLeanCall(headers, hot, env, peer, {
    protocolName: "grpc",
    timeoutMs: timeout.timeoutMs,
    responseHeader: binary ? GRPC_PROTO : GRPC_JSON,
    responseTrailer: GRPC_OK,
  });
  const exchange = new GrpcUnaryExchange(stream, call, env, peer, binary);
  if (timeout.error) exchange.fail(timeout.error);
  else exchange.readBody(headers);
}

const GRPC_PROTO = Object.freeze({ "content-type": "application/grpc+proto" });
const GRPC_JSON = Object.freeze({ "content-type": "application/grpc+json" });
const GRPC_OK = Object.freeze({ "grpc-status": "0" });
const GRPC_PROTO_HEAD = Object.freeze({ ":status": 200, ...GRPC_PROTO });
const GRPC_JSON_HEAD = Object.freeze({ ":status": 200, ...GRPC_JSON });

class GrpcUnaryExchange extends LeanExchange implements LeanOutcome {
  /** Made when a chunk holds other than exactly one whole envelope (most requests need none). */
  private splitter: EnvelopeSplitter | undefined;
  private input: MessageShape<DescMessage> | undefined;

  constructor(
    stream: http2.ServerHttp2Stream,
    call: LeanCall,
    env: LeanEnv,
    peer: LeanPeer,
    private readonly binary: boolean,
  ) {
    super(stream, call, env, peer);
  }

  protected chunk(chunk: Buffer): void {
    try {
      if (this.splitter === undefined && isOneEnvelope(chunk, this.env.readMaxBytes)) {
        // The common case, one chunk that is exactly one envelope within the limit: what the
        // splitter would hand on, without its buffers.
        this.take(chunk[0] as number, chunk.subarray(5));
        return;
      }
      this.splitter ??= new EnvelopeSplitter(this.env.readMaxBytes);
      for (const envelope of this.splitter.push(chunk)) this.take(envelope.flags, envelope.data);
    } catch (e) {
      this.fail(e);
    }
  }

  private take(flags: number, data: Uint8Array): void {
    if ((flags & COMPRESSED_FLAG) === COMPRESSED_FLAG) {
      throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
    }
    const message = parseMessage(this.call.hot.method.input, this.binary, data, this.call.hot.decode);
    if (this.input !== undefined) {
      throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
    }
    this.input = message;
  }

  protected end(): void {
    try {
      this.splitter?.end();
      if (this.input === undefined) {
        throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    this.complete(this.input);
  }

  private complete(input: MessageShape<DescMessage>): void {
    // The decoded request is the implementation's now: the exchange need not keep it.
    this.input = undefined;
    this.call.invokeThen(input, this.env.interceptors, this);
  }

  /** @internal The implementation's output (through the interceptors): the response. */
  succeeded(output: unknown): void {
    const { call } = this;
    let body: Uint8Array;
    try {
      // The message is written after 5 free bytes, where its envelope header goes: no copy.
      body = serializeMessage(call.hot.method.output, this.binary, output as never, 5, call.hot.encode);
      writeEnvelopeHeader(body);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.respond(this.responseHead(), body, call.renderResponseTrailer());
  }

  /**
   * The response's header block: while the call's headers are the defaults, a shared frozen object
   * (Node's `respond` copies what it is given, adding `date`), else the call's own.
   */
  private responseHead(): http2.OutgoingHttpHeaders {
    const { call } = this;
    if (call.hasCustomHeader()) return call.renderResponseHeader({ ":status": 200 });
    return this.binary ? GRPC_PROTO_HEAD : GRPC_JSON_HEAD;
  }

  fail(error: unknown): void {
    if (this.answered) return;
    const { call } = this;
    setTrailerStatus(call.responseTrailer, asConnectError(error));
    this.respond(this.responseHead(), undefined, call.renderResponseTrailer());
  }
}

/** True if `chunk` is exactly one whole envelope whose length is within `readMaxBytes`. */
function isOneEnvelope(chunk: Buffer, readMaxBytes: number): boolean {
  if (chunk.length < 5) return false;
  const length = chunk.readUInt32BE(1);
  return length <= readMaxBytes && length + 5 === chunk.length;
}

/** Writes the header of an uncompressed envelope into the first 5 bytes of `body`. */
function writeEnvelopeHeader(body: Uint8Array): void {
  const length = body.length - 5;
  body[0] = 0;
  body[1] = length >>> 24;
  body[2] = (length >>> 16) & 0xff;
  body[3] = (length >>> 8) & 0xff;
  body[4] = length & 0xff;
}
