import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { withUnaryHook } from "../rpc/lean/unary-hooks.js";

/** Codes that, during shutdown, only say "the call was cut short": they become UNAVAILABLE. */
const CUT_SHORT = new Set([Code.Canceled, Code.Aborted, Code.Unknown]);

function shuttingDown(cause?: unknown): ConnectError {
  return new ConnectError("the server is shutting down", Code.Unavailable, undefined, undefined, cause);
}

/** What a call's error becomes once shutdown has begun. */
function duringShutdown(e: unknown): unknown {
  if (!(e instanceof ConnectError)) return shuttingDown(e);
  return CUT_SHORT.has(e.code) ? shuttingDown(e) : e;
}

/**
 * A server interceptor that keeps the shutdown contract whatever a handler does: once
 * `shutdownSignal` has aborted, a server stream that ends (cleanly or cut short) ends with
 * UNAVAILABLE, so clients know to reconnect elsewhere, and cancellations of unary calls read
 * UNAVAILABLE too. Errors with a specific code (NOT_FOUND, …) pass through unchanged.
 */
export function createShutdownInterceptor(shutdownSignal: AbortSignal): Interceptor {
  const failed = (e: unknown): never => {
    throw shutdownSignal.aborted ? duringShutdown(e) : e;
  };
  // Unary calls, the hot path, get one promise reaction each (no async frame, no closure).
  const settled = (res: Awaited<ReturnType<Parameters<Interceptor>[0]>>) => (res.stream ? guardStream(res) : res);
  const guardStream = (res: Awaited<ReturnType<Parameters<Interceptor>[0]>> & { stream: true }) => {
    const source = res.message;
    async function* guarded() {
      try {
        yield* source;
      } catch (e) {
        throw shutdownSignal.aborted ? duringShutdown(e) : e;
      }
      if (shutdownSignal.aborted) throw shuttingDown();
    }
    return { ...res, message: guarded() };
  };
  const interceptor: Interceptor = (next) => (req) => {
    let res: ReturnType<typeof next>;
    try {
      res = next(req);
    } catch (e) {
      return Promise.reject(shutdownSignal.aborted ? duringShutdown(e) : e);
    }
    return res.then(settled, failed);
  };
  return withUnaryHook(interceptor, {
    before: () => undefined,
    after: (_state, _call, isFailure, error) => (isFailure && shutdownSignal.aborted ? duringShutdown(error) : error),
  });
}
