import type * as http2 from "node:http2";

/** Options of {@link watchHttp2Idle}. */
export interface Http2IdleOptions {
  /** A session with no stream open and no frame for this long is closed (GOAWAY). 0: never. */
  idleTimeoutMs: number;
  /**
   * A session with streams open but no frame for `idleTimeoutMs` gets a PING; without its ACK
   * within this long the session is destroyed (the peer is gone: a half-open connection).
   */
  pingTimeoutMs: number;
}

const kOpenStreams = Symbol("openStreams");
/** A session with its open-stream count kept on it (a property: no WeakMap lookup per stream). */
type CountedSession = http2.ServerHttp2Session & { [kOpenStreams]?: number };

/**
 * Idle bounds for the sessions of an HTTP/2 server (Node's own default is none): a session
 * nobody uses is closed, and one whose peer stopped answering is destroyed even while a long
 * call (a Subscribe stream, a long-poll) keeps streams open. Returns the open-stream count of a
 * session, which the caller's stream bookkeeping feeds through `streamOpened`/`streamClosed`.
 */
export function watchHttp2Idle(server: http2.Http2Server, options: Http2IdleOptions) {
  if (options.idleTimeoutMs > 0) {
    server.setTimeout(options.idleTimeoutMs);
    server.on("timeout", (session: http2.ServerHttp2Session) => {
      if (session.destroyed || session.closed) return;
      if (((session as CountedSession)[kOpenStreams] ?? 0) === 0) {
        session.close();
        return;
      }
      const timer = setTimeout(() => session.destroy(), options.pingTimeoutMs);
      timer.unref();
      try {
        session.ping((error) => {
          clearTimeout(timer);
          if (error) session.destroy();
        });
      } catch {
        clearTimeout(timer);
        session.destroy();
      }
    });
  }
  return {
    streamOpened(session: CountedSession): void {
      session[kOpenStreams] = (session[kOpenStreams] ?? 0) + 1;
    },
    streamClosed(session: CountedSession): void {
      session[kOpenStreams] = Math.max(0, (session[kOpenStreams] ?? 1) - 1);
    },
  };
}
