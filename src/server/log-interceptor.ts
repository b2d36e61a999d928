import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { withUnaryHook } from "../rpc/lean/unary-hooks.js";
import { isDebugEnabled, type Logger, logDebug } from "../util/index.js";

/**
 * Who made a call, for logs: `host:port` of the client's socket for calls on the RPC port, or
 * `in-process` for the bridges' in-process clients (their logger says which bridge).
 */
export const peerKey = createContextKey<string>("in-process", { description: "switchyard peer" });

/**
 * The `contextValues` option of the Connect adapter (a Node request), and of the lean RPC path (its
 * HTTP/2 session's socket): records each request's peer.
 */
export function peerContextValues(req: {
  readonly socket?: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined };
}): ContextValues {
  const socket = req.socket;
  const host = socket?.remoteAddress ?? "unknown";
  const peer = host.includes(":") ? `[${host}]:${socket?.remotePort}` : `${host}:${socket?.remotePort}`;
  return createContextValues().set(peerKey, peer);
}

/** Codes that say the server, not the caller, is at fault: logged as a warning with the call's fields. */
const SERVER_FAULTS = new Set([Code.Internal, Code.Unknown, Code.DataLoss]);

/**
 * A server interceptor that logs each finished call with its request-scoped fields: `method`
 * (`switchyard.v1.AdminService/CreateTopic`), `peer`, `code`, `reason` (the ErrorDetail's),
 * `durationMs`, and for streams `messages` sent. Every call at debug level; calls that failed
 * through the server's fault (internal, unknown, data loss) also as a warning, unless the client
 * had gone (the call's signal aborted: connect-node fails a streaming call whose connection went
 * mid-body with Unknown "Premature close", and a client must not be able to write a warning per
 * connection). Headers and bodies are never logged.
 */
export function createLogInterceptor(logger: Logger): Interceptor {
  /** Logs a finished call: at debug always, as a warning when the server was at fault. */
  const finished = (
    method: string,
    peer: string,
    startedMs: number,
    e: unknown,
    messages?: number,
    clientGone = false,
  ) => {
    const durationMs = Math.round((performance.now() - startedMs) * 10) / 10;
    const err = e === undefined ? undefined : ConnectError.from(e);
    const code = err ? Code[err.code] : "OK";
    const reason = err?.findDetails(ErrorDetailSchema)[0]?.reason;
    const line = {
      method,
      peer,
      code,
      ...(reason ? { reason } : {}),
      durationMs,
      ...(messages !== undefined ? { messages } : {}),
    };
    logDebug(logger, "rpc", line);
    if (err && SERVER_FAULTS.has(err.code) && !clientGone)
      logger.warn("rpc failed", { ...line, message: err.rawMessage });
  };
  /** A failed unary call with debug lines off: only a server fault is logged (at warn), and it is rare. */
  const failedQuietly = (method: string, peer: string, startedMs: number, e: unknown, clientGone = false) => {
    const err = ConnectError.from(e);
    if (!SERVER_FAULTS.has(err.code) || clientGone) return;
    logger.warn("rpc failed", {
      method,
      peer,
      code: Code[err.code],
      durationMs: Math.round((performance.now() - startedMs) * 10) / 10,
      message: err.rawMessage,
    });
  };
  const interceptor: Interceptor = (next) => async (req) => {
    // The common case, a unary call with debug lines off, builds nothing.
    if (!req.stream && !isDebugEnabled(logger)) {
      const started = performance.now();
      try {
        return await next(req);
      } catch (e) {
        failedQuietly(
          `${req.service.typeName}/${req.method.name}`,
          req.contextValues.get(peerKey),
          started,
          e,
          req.signal.aborted,
        );
        throw e;
      }
    }
    const started = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const peer = req.contextValues.get(peerKey);
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (e) {
      finished(method, peer, started, e, undefined, req.signal.aborted);
      throw e;
    }
    if (!res.stream) {
      finished(method, peer, started, undefined);
      return res;
    }
    const source = res.message;
    async function* logged() {
      let messages = 0;
      let outcome: { error: unknown } | "completed" | undefined;
      try {
        for await (const m of source) {
          messages++;
          yield m;
        }
        outcome = "completed";
      } catch (e) {
        outcome = { error: e };
        throw e;
      } finally {
        // Neither completed nor failed: the client went away and the stream was closed early.
        const error = outcome === "completed" ? undefined : outcome ? outcome.error : closedEarly();
        finished(method, peer, started, error, messages, req.signal.aborted);
      }
    }
    return { ...res, message: logged() };
  };
  // A unary call on the lean path: the same lines, without the interceptor's steps.
  return withUnaryHook<number>(interceptor, {
    before: () => performance.now(),
    after(started, call, failed, error) {
      const debug = isDebugEnabled(logger);
      if (!failed && !debug) return error; // the common case builds nothing
      const method = `${call.service.typeName}/${call.method.name}`;
      if (debug) finished(method, call.values.get(peerKey), started, failed ? error : undefined);
      else failedQuietly(method, call.values.get(peerKey), started, error);
      return error;
    },
  });
}

function closedEarly(): ConnectError {
  return new ConnectError("stream closed early", Code.Canceled);
}
