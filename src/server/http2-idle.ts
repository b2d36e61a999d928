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

/** Checks per idle timeout: a quiet session is found idle between 1 and 1 + 1/N timeouts after its last frame. */
const CHECKS_PER_TIMEOUT = 4;

const kOpenStreams = Symbol("openStreams");
const kSeenBytes = Symbol("seenBytes");
const kQuietSinceMs = Symbol("quietSinceMs");
/** A session with its bookkeeping kept on it (properties: no map lookup per stream). */
type WatchedSession = http2.ServerHttp2Session & {
  [kOpenStreams]?: number;
  /** Bytes its socket had read and written at the last check. */
  [kSeenBytes]?: number;
  /** When the last check saw those bytes change (or the session start). */
  [kQuietSinceMs]?: number;
};

/** Bytes the session's socket has read and written so far (-1 once it has none). */
function socketBytes(session: http2.ServerHttp2Session): number {
  try {
    const socket = session.socket;
    return socket.bytesRead + socket.bytesWritten;
  } catch {
    return -1; // (the socket is gone: Node's proxy throws)
  }
}

/**
 * Idle bounds for the sessions of an HTTP/2 server (Node's own default is none): a session
 * nobody uses is closed, and one whose peer stopped answering is destroyed even while a long
 * call (a Subscribe stream, a long-poll) keeps streams open. Returns the open-stream count of a
 * session, which the caller's stream bookkeeping feeds through `streamOpened`/`streamClosed`.
 *
 * A session's traffic is read from its socket's byte counts by one timer for all sessions, a few
 * times per timeout, instead of Node's session timeout (`server.setTimeout`), which Node re-arms
 * on every read and write of every stream: a timer list operation and a clock read each, about
 * 1 % of a unary call's CPU.
 */
export function watchHttp2Idle(server: http2.Http2Server, options: Http2IdleOptions) {
  const { idleTimeoutMs, pingTimeoutMs } = options;
  if (idleTimeoutMs > 0) {
    const sessions = new Set<WatchedSession>();
    let timer: NodeJS.Timeout | undefined;
    const idle = (session: WatchedSession) => {
      if ((session[kOpenStreams] ?? 0) === 0) {
        session.close();
        return;
      }
      const timer = setTimeout(() => session.destroy(), pingTimeoutMs);
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
    };
    const check = () => {
      const now = performance.now();
      for (const session of sessions) {
        if (session.destroyed || session.closed) continue;
        const bytes = socketBytes(session);
        if (bytes !== session[kSeenBytes]) {
          session[kSeenBytes] = bytes;
          session[kQuietSinceMs] = now;
        } else if (now - (session[kQuietSinceMs] ?? now) >= idleTimeoutMs) {
          // (A PING's own bytes count as traffic: a session that stays quiet is checked again.)
          session[kQuietSinceMs] = now;
          idle(session);
        }
      }
      if (sessions.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    };
    server.on("session", (session: WatchedSession) => {
      session[kSeenBytes] = socketBytes(session);
      session[kQuietSinceMs] = performance.now();
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
      if (timer === undefined) {
        timer = setInterval(check, Math.max(1, Math.floor(idleTimeoutMs / CHECKS_PER_TIMEOUT)));
        timer.unref();
      }
    });
  }
  return {
    streamOpened(session: WatchedSession): void {
      session[kOpenStreams] = (session[kOpenStreams] ?? 0) + 1;
    },
    streamClosed(session: WatchedSession): void {
      session[kOpenStreams] = Math.max(0, (session[kOpenStreams] ?? 1) - 1);
    },
  };
}
