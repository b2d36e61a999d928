/**
 * The HTTP/2 session of a Switchyard client, with receive windows sized for a broker that streams
 * whole batches: connect-node's `Http2SessionManager`, whose sessions announce
 * {@link CLIENT_STREAM_WINDOW_BYTES} per stream and open {@link CLIENT_CONNECTION_WINDOW_BYTES}
 * per connection (docs/client.md, "Receive windows").
 */
import type * as http2 from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";

/**
 * Receive window of each stream: one whole Subscribe response (the broker caps them at 4 MiB)
 * arrives without waiting for the client to read part of it. HTTP/2's default is 64 KiB, which
 * held a consumer to a WINDOW_UPDATE round trip per 32 KiB read (BENCHMARKS.md).
 */
export const CLIENT_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/** Receive window of the whole connection: several streams' responses on their way at once. */
export const CLIENT_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Options of {@link createSwitchyardSessionManager}. */
export interface SwitchyardSessionOptions {
  /** Node's `http2.connect` options (TLS `ca`, `maxSessionMemory`, …). Their `settings` win. */
  nodeOptions?: http2.ClientSessionOptions | http2.SecureClientSessionOptions;
  /** Interval of keep-alive PINGs in ms (default: none). */
  pingIntervalMs?: number;
  /** PING an idle connection too (default false). */
  pingIdleConnection?: boolean;
  /** How long a PING may go unanswered before the connection is dropped, in ms (default 15 s). */
  pingTimeoutMs?: number;
  /** Closes a connection without calls after this many ms (default 15 min). */
  idleConnectionTimeoutMs?: number;
  /** Receive window of each stream in bytes (default {@link CLIENT_STREAM_WINDOW_BYTES}). */
  streamWindowBytes?: number;
  /** Receive window of the connection in bytes (default {@link CLIENT_CONNECTION_WINDOW_BYTES}). */
  connectionWindowBytes?: number;
}

/** Largest window HTTP/2 allows (RFC 9113, 6.9.1). */
const MAX_WINDOW_BYTES = 2 ** 31 - 1;

function checkedWindow(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 65_535 || v > MAX_WINDOW_BYTES) {
    throw new RangeError(`${name} must be an integer from 65535 to ${MAX_WINDOW_BYTES}, got ${v}`);
  }
  return v;
}

/** A session manager that opens each new session's connection window before its first request. */
class WindowedSessionManager extends Http2SessionManager {
  private readonly opened = new WeakSet<http2.Http2Session>();

  constructor(
    url: string,
    pingOptions: ConstructorParameters<typeof Http2SessionManager>[1],
    nodeOptions: http2.ClientSessionOptions | http2.SecureClientSessionOptions,
    private readonly connectionWindowBytes: number,
  ) {
    super(url, pingOptions, nodeOptions);
  }

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "endStream">,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const { session } = stream;
    if (session !== undefined && !this.opened.has(session)) {
      this.opened.add(session);
      // The WINDOW_UPDATE goes out with this stream's HEADERS: nothing is waiting for it yet.
      if (!session.destroyed) session.setLocalWindowSize(this.connectionWindowBytes);
    }
    return stream;
  }
}

/**
 * Creates the session manager `createSwitchyardTransport` uses when given none (./transport.ts);
 * pass it to connect-node's transports too, to share one connection with the same windows.
 *
 * ```ts
 * const sessionManager = createSwitchyardSessionManager("http://127.0.0.1:7440");
 * const transport = createSwitchyardTransport({ baseUrl, sessionManager });
 * ```
 */
export function createSwitchyardSessionManager(
  baseUrl: string,
  options: SwitchyardSessionOptions = {},
): Http2SessionManager {
  const streamWindowBytes = checkedWindow("streamWindowBytes", options.streamWindowBytes, CLIENT_STREAM_WINDOW_BYTES);
  const connectionWindowBytes = checkedWindow(
    "connectionWindowBytes",
    options.connectionWindowBytes,
    CLIENT_CONNECTION_WINDOW_BYTES,
  );
  const nodeOptions = options.nodeOptions ?? {};
  return new WindowedSessionManager(
    baseUrl,
    {
      pingIntervalMs: options.pingIntervalMs,
      pingIdleConnection: options.pingIdleConnection,
      pingTimeoutMs: options.pingTimeoutMs,
      idleConnectionTimeoutMs: options.idleConnectionTimeoutMs,
    },
    { ...nodeOptions, settings: { initialWindowSize: streamWindowBytes, ...nodeOptions.settings } },
    connectionWindowBytes,
  );
}
