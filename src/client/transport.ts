/**
 * `createSwitchyardTransport`: a Connect-protocol `Transport` whose unary calls run on
 * ./unary-call.ts over one HTTP/2 session (connect-node's `Http2SessionManager`), and whose
 * streaming calls go to connect-node's own Connect transport on the same session.
 */
import type { OutgoingHttpHeaders } from "node:http2";
import { create, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createMethodUrl, runUnaryCall, validateReadWriteMaxBytes } from "@connectrpc/connect/protocol";
import { requestHeaderWithCompression } from "@connectrpc/connect/protocol-connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { defaultRequestHeaders, nodeHeadersFromWeb } from "./headers.js";
import type { SwitchyardTransportOptions } from "./options.js";
import { createSwitchyardSessionManager } from "./session-manager.js";
import { type CallSettings, callUnary, type SessionManagerLike } from "./unary-call.js";

/** User headers of a call, as `Transport.unary` takes them. */
type RequestHeaderInit = Parameters<Transport["unary"]>[3];

/** A {@link Transport} that can also drop its HTTP/2 connection. */
export interface SwitchyardTransport extends Transport {
  /**
   * Aborts every call in flight and closes the connection, if the transport opened it (no
   * `sessionManager` option); a shared session manager is left to its owner. Later calls
   * connect again.
   */
  close(): void;
  /** True when unary calls run on the lean path; false when options sent them to connect-node. */
  readonly lean: boolean;
}

/**
 * Creates a Connect-protocol transport (binary Protobuf over HTTP/2, `http://` or `https://`)
 * for the generated clients of `gen/`, cheaper per unary call than connect-node's
 * `createConnectTransport` and answering the same: results, errors with their details, headers
 * and trailers, deadlines, cancellation, interceptors and size limits (docs/client.md).
 *
 * ```ts
 * const transport = createSwitchyardTransport({ baseUrl: "http://127.0.0.1:7440" });
 * const publisher = createClient(PublisherService, transport);
 * await publisher.publish({ topic: "orders", messages: [{ data }] });
 * transport.close();
 * ```
 *
 * With `useBinaryFormat: false` or `useHttpGet: true` unary calls go to connect-node's
 * transport (see {@link SwitchyardTransport.lean}).
 */
export function createSwitchyardTransport(options: SwitchyardTransportOptions): SwitchyardTransport {
  const { baseUrl } = options;
  const owned = options.sessionManager === undefined;
  const sessionManager = options.sessionManager ?? createSwitchyardSessionManager(baseUrl, options);
  const acceptCompression = options.acceptCompression ?? [];
  const sendCompression = options.sendCompression ?? null;
  const interceptors = options.interceptors ?? [];
  const delegate = createConnectTransport({
    ...options,
    httpVersion: "2",
    sessionManager,
    acceptCompression,
    interceptors,
  });
  const limits = validateReadWriteMaxBytes(options.readMaxBytes, options.writeMaxBytes, options.compressMinBytes);
  const settings: CallSettings = {
    sessionManager,
    ...limits,
    acceptCompression,
    sendCompression,
    binaryOptions: options.binaryOptions,
  };
  const acceptEncoding = acceptCompression.length > 0 ? acceptCompression.map((c) => c.name).join(",") : undefined;
  const paths = new WeakMap<object, string>();
  const pathOf = (method: DescMethodUnary) => {
    let path = paths.get(method);
    if (path === undefined) {
      path = checkedPath(createMethodUrl(baseUrl, method), sessionManager);
      paths.set(method, path);
    }
    return path;
  };
  const headersFor = (timeoutMs: number | undefined, header: RequestHeaderInit): OutgoingHttpHeaders =>
    header === undefined
      ? defaultRequestHeaders(timeoutMs, acceptEncoding)
      : nodeHeadersFromWeb(webRequestHeaders(timeoutMs, header));
  const webRequestHeaders = (timeoutMs: number | undefined, header: RequestHeaderInit) =>
    requestHeaderWithCompression("unary", true, timeoutMs, header, acceptCompression, sendCompression, true);

  const lean = options.useBinaryFormat !== false && options.useHttpGet !== true;
  const unary = <I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: RequestHeaderInit,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> => {
    const deadlineMs = timeoutMs === undefined ? options.defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
    if (interceptors.length === 0) {
      let path: string;
      try {
        path = pathOf(method);
      } catch (e) {
        return Promise.reject(ConnectError.from(e));
      }
      const message = create(method.input, input);
      const headers = headersFor(deadlineMs, header);
      return callUnary(settings, { method, path, headers, message, signal, timeoutMs: deadlineMs });
    }
    // With interceptors, connect-es's own runner: the same request object, signal and deadline.
    return runUnaryCall<I, O>({
      interceptors,
      signal,
      timeoutMs: deadlineMs,
      req: {
        stream: false,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: createMethodUrl(baseUrl, method),
        header: webRequestHeaders(deadlineMs, header),
        contextValues: contextValues ?? createContextValues(),
        message: input,
      },
      next: async (req: UnaryRequest<I, O>) => {
        const path = checkedPath(req.url, sessionManager);
        const headers = nodeHeadersFromWeb(req.header);
        return callUnary(settings, {
          method: req.method,
          path,
          headers,
          message: req.message,
          signal: req.signal,
          timeoutMs: undefined,
        });
      },
    });
  };
  return {
    unary: lean ? unary : delegate.unary.bind(delegate),
    stream: delegate.stream.bind(delegate),
    close() {
      if (owned) sessionManager.abort();
    },
    lean,
  };
}

/** The path and query of `url`, which must be on the session's origin (else Internal, as connect-node). */
function checkedPath(url: string, sessionManager: SessionManagerLike): string {
  const u = new URL(url);
  if (u.origin !== sessionManager.authority) {
    throw new ConnectError(
      `cannot make a request to ${u.origin}: the http2 session is connected to ${sessionManager.authority}`,
      Code.Internal,
    );
  }
  return u.pathname + u.search;
}
