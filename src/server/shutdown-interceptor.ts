import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

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
  return (next) => async (req) => {
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (e) {
      throw shutdownSignal.aborted ? duringShutdown(e) : e;
    }
    if (!res.stream) return res;
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
}
