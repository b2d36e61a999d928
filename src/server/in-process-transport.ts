import {
  type ConnectRouter,
  type ContextValues,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createUniversalHandlerClient, type UniversalHandler } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";

/**
 * True on the handler side of a call made through {@link createInProcessTransport}. It is set by
 * the transport itself, as a context value no request carries, so a remote client cannot forge
 * it (a header could be sent by anyone). The RPC metrics read it to label bridge calls
 * `in-process`. Auth keeps its own values beside it.
 */
export const inProcessKey = createContextKey<boolean>(false, { description: "switchyard in-process call" });

/** Options of {@link createInProcessTransport}. */
export interface InProcessTransportOptions {
  /** The server interceptors (src/server/interceptors.ts), run on the handler side as on the RPC port. */
  interceptors: Interceptor[];
  /** More context values for every call (auth's principal), beside {@link inProcessKey}. */
  contextValues?: () => ContextValues;
}

/**
 * A transport that calls the services registered by `routes` in this process, without a socket:
 * Connect's router transport, with every call marked by {@link inProcessKey} on the handler side.
 * Messages go in the binary format, uncompressed and unbounded in size, as with Connect's own
 * `createRouterTransport`.
 */
export function createInProcessTransport(
  routes: (router: ConnectRouter) => void,
  options: InProcessTransportOptions,
): Transport {
  const router = createConnectRouter({ interceptors: options.interceptors, connect: true });
  routes(router);
  const marked = router.handlers.map(
    (handler): UniversalHandler =>
      Object.assign(
        (req: Parameters<UniversalHandler>[0]) =>
          handler({
            ...req,
            contextValues: (options.contextValues?.() ?? createContextValues()).set(inProcessKey, true),
          }),
        handler,
      ),
  );
  return createTransport({
    httpClient: createUniversalHandlerClient(marked),
    baseUrl: "https://in-process",
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: Number.MAX_SAFE_INTEGER,
    writeMaxBytes: Number.MAX_SAFE_INTEGER,
  });
}
