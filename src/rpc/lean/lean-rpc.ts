import type * as http2 from "node:http2";
import type { ContextValues, Interceptor } from "@connectrpc/connect";
import type { Broker } from "../../core/index.js";
import { BrokerError } from "../../errors/index.js";
import type { ByteBudget, Logger, PeerByteBudgets } from "../../util/index.js";
import { toConnectError } from "../to-connect-error.js";
import { serveConnectUnary } from "./connect-unary.js";
import { contentKindOf } from "./content-types.js";
import { serveGrpcUnary } from "./grpc-unary.js";
import { type HotStreamMethod, leanMethods } from "./hot-methods.js";
import type { LeanCall } from "./lean-call.js";
import type { LeanEnv, LeanPeer } from "./lean-env.js";
import { LiveCalls } from "./live-calls.js";
import { serveServerStream } from "./server-stream.js";

/** Options of {@link createLeanRpc}. */
export interface LeanRpcOptions {
  broker: Broker;
  logger: Logger;
  /** The server interceptors (src/server/interceptors.ts): the same list connect-node runs. */
  interceptors: readonly Interceptor[];
  /** Aborted when shutdown begins: every call in flight is aborted with its reason. */
  shutdownSignal: AbortSignal;
  /** Largest request message in bytes: the `readMaxBytes` given to connect-node. */
  readMaxBytes: number;
  /** Bound on request bytes buffered across all calls, with each client's share (shared with the connect-node path). */
  requestBudget?: PeerByteBudgets;
  /** Checks a call's credentials before its body is read; see {@link LeanEnv.authenticate}. */
  authenticate?: LeanEnv["authenticate"];
  /**
   * Context values for each call, made when an interceptor or the implementation first reads them:
   * give the same values connect-node's `contextValues` option gives (e.g. the peer address for
   * authentication). Default: empty values.
   */
  contextValues?: (peer: LeanPeer, headers: http2.IncomingHttpHeaders) => ContextValues;
}

/**
 * The lean unary path (README "Architecture"): Publish, Pull, Ack, Nack and ModifyAckDeadline
 * over gRPC and Connect unary on HTTP/2, served straight from the `node:http2` stream. It decodes
 * with @bufbuild/protobuf, runs the server interceptors and the same service implementations as
 * connect-node, and renders every result and error exactly as connect-node does. Anything it does
 * not handle exactly is left to connect-node.
 */
export interface LeanRpc {
  /**
   * Serves the stream if it is a call of the lean path and returns true; returns false (having
   * touched nothing) for everything else: other paths and methods, compression, gRPC-web, other
   * content types.
   */
  serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
  /** Lean calls in flight. */
  inFlight(): number;
}

/** Creates a {@link LeanRpc}. */
export function createLeanRpc(options: LeanRpcOptions): LeanRpc {
  const { unary: methods, stream: streamMethods } = leanMethods(options.broker, options.logger);
  const { shutdownSignal, logger } = options;
  const active = new LiveCalls<LeanCall>();
  shutdownSignal.addEventListener(
    "abort",
    () => {
      for (const call of active.toArray()) call.abort(shutdownSignal.reason);
    },
    { once: true },
  );
  const env: LeanEnv = {
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    budget: options.requestBudget,
    contextValues: options.contextValues,
    authenticate: options.authenticate,
    busyError: () => requestBudgetError(options.requestBudget?.total, logger),
    track(call) {
      if (shutdownSignal.aborted) call.abort(shutdownSignal.reason);
      active.add(call);
    },
    untrack(call) {
      active.delete(call);
    },
  };
  return {
    serve(stream, headers) {
      if (headers[":method"] !== "POST" || headers[":authority"] === undefined) return false;
      const path = headers[":path"] ?? "";
      const contentType = headers["content-type"];
      if (contentType === undefined) return false;
      const hot = methods.get(path);
      if (hot === undefined) {
        const streaming = streamMethods.get(path);
        return streaming !== undefined && serveStream(stream, headers, contentType, streaming, env);
      }
      const kind = contentKindOf(contentType);
      if (kind.grpc) {
        if (!isIdentity(headers["grpc-encoding"])) return false;
        serveGrpcUnary(stream, headers, hot, kind.binary, env);
        return true;
      }
      if (kind.connectUnary) {
        if (!isIdentity(headers["content-encoding"])) return false;
        serveConnectUnary(stream, headers, hot, kind.binary, env);
        return true;
      }
      return false;
    },
    inFlight: () => active.size,
  };
}

/**
 * Serves a server-streaming call in the binary gRPC or Connect streaming protocol, without
 * compression; false (nothing touched) for JSON, gRPC-web, compression and anything else.
 */
function serveStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  contentType: string,
  hot: HotStreamMethod,
  env: LeanEnv,
): boolean {
  const kind = contentKindOf(contentType);
  if (kind.grpc) {
    if (!kind.binary || !isIdentity(headers["grpc-encoding"])) return false;
    serveServerStream(stream, headers, hot, "grpc", env);
    return true;
  }
  if (kind.connectStreamBinary) {
    if (!isIdentity(headers["connect-content-encoding"])) return false;
    serveServerStream(stream, headers, hot, "connect", env);
    return true;
  }
  return false;
}

/** No compression requested: the header is absent or `identity` (connect treats both alike). */
function isIdentity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === "identity";
}

/** The error of a call refused because request bodies in flight use up the budget. */
export function requestBudgetError(budget: ByteBudget | undefined, logger: Logger) {
  const max = budget?.maxBytes ?? 0;
  return toConnectError(
    new BrokerError("SERVER_BUSY", `the server is reading ${max} bytes of requests already; try again later`),
    logger,
  );
}
