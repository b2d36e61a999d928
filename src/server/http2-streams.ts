import * as http2 from "node:http2";
import type { Logger } from "../util/index.js";
import { BodyDeadlines } from "./body-deadlines.js";
import type { watchHttp2Idle } from "./http2-idle.js";
import { isServerEnded, markServerEnded } from "./server-ended.js";

/** Options of {@link routeHttp2Streams}. */
export interface Http2StreamRoutes {
  /** The idle bookkeeping of the server's sessions (open streams per session). */
  idle: ReturnType<typeof watchHttp2Idle>;
  logger: Logger;
  /** Serves a stream itself (the lean RPC path) and returns true, or returns false to pass it on. */
  claim?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
  /** While closing, every stream goes to the compatibility API (which answers 503). */
  isClosing: () => boolean;
  /** A claimed stream started; {@link claimedClosed} follows when it closes. */
  claimed: () => void;
  claimedClosed: () => void;
  /**
   * A stream whose request body has not ended this long after its headers is reset (CANCEL),
   * which gives back the request bytes it holds: HTTP/2's counterpart of HTTP/1.1's
   * `requestTimeout`. 0: never.
   */
  bodyTimeoutMs: number;
  /** Most streams open at once across all sessions; past it new streams are refused (REFUSED_STREAM). */
  maxOpenStreams: number;
  /**
   * A routed stream ended before its response did because the client reset it or its session
   * went (`code`: its HTTP/2 error code; NO_ERROR for a connection gone without one). Streams the
   * server ended itself (marked with markServerEnded, server-ended.ts) are not reported.
   */
  streamReset?: (code: number) => void;
}

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

const kSession = Symbol("session");
const kClaimed = Symbol("claimed");
type TrackedStream = http2.ServerHttp2Stream & {
  [kSession]?: http2.ServerHttp2Session;
  [kClaimed]?: boolean;
};

function ignore(): void {}

/**
 * Routes the streams of an HTTP/2 server that was created with a request handler: each stream is
 * offered to `claim` first, and the rest go to Node's compatibility API (whose own 'stream'
 * listener, which makes the request/response pair for the handler, is taken over here). Also
 * counts open streams per session for the idle timeout.
 */
export function routeHttp2Streams(h2: http2.Http2Server, routes: Http2StreamRoutes): void {
  const compat = h2.listeners("stream") as ((...args: unknown[]) => void)[];
  if (compat.length === 0) throw new Error("node:http2 has no compatibility 'stream' listener to chain");
  h2.removeAllListeners("stream");
  const { idle, claim, streamReset } = routes;
  let open = 0;
  // One list and one timer for the body deadlines of all streams, not a timer per stream.
  const bodyDeadlines = routes.bodyTimeoutMs > 0 ? new BodyDeadlines(routes.bodyTimeoutMs) : undefined;
  // One 'close' listener for every stream (`this` is the stream): no closure per call.
  function onStreamClose(this: TrackedStream): void {
    open--;
    bodyDeadlines?.remove(this);
    const session = this[kSession];
    if (session) idle.streamClosed(session);
    if (this[kClaimed]) routes.claimedClosed();
    // `aborted`: closed while its response was not ended (Node sets it for any such close).
    if (this.aborted && streamReset !== undefined && !isServerEnded(this) && !isServerEnded(session)) {
      streamReset(this.rstCode ?? NGHTTP2_NO_ERROR);
    }
  }
  // Node emits (stream, headers, flags, rawHeaders): named, not a rest array made per stream.
  h2.on("stream", (stream: TrackedStream, headers: http2.IncomingHttpHeaders, flags: unknown, rawHeaders: unknown) => {
    const session = stream.session as http2.ServerHttp2Session | undefined;
    // A stream reset (or whose session went) before this event fired has no session any more:
    // nothing to serve. (Routing it threw, and an exception here kills the process.)
    // A reset with an error code (not CANCEL) also emits 'error' on it: with no listener that was
    // an uncaught exception (test/integration/rpc-h2-abuse.test.ts).
    if (session === undefined || stream.destroyed) {
      stream.on("error", ignore);
      stream.destroy();
      return;
    }
    if (open >= routes.maxOpenStreams) {
      // Every open stream costs memory whether or not it sends anything; the client may retry.
      stream.on("error", ignore);
      stream.close(NGHTTP2_REFUSED_STREAM);
      return;
    }
    open++;
    stream[kSession] = session;
    idle.streamOpened(session);
    // `on`, not `once` (no wrapper per stream): a stream emits 'close' and 'end' once each.
    stream.on("close", onStreamClose);
    if (bodyDeadlines !== undefined && !stream.endAfterHeaders) bodyDeadlines.add(stream);
    if (claim && !routes.isClosing()) {
      routes.claimed();
      stream[kClaimed] = true;
      try {
        stream[kClaimed] = claim(stream, headers);
      } catch (e) {
        // A bug in the stream handler costs this stream, never the process.
        routes.logger.error("http2 stream handler failed", { error: e });
        markServerEnded(stream);
        stream.destroy();
        return;
      }
      if (stream[kClaimed]) return;
      routes.claimedClosed();
    }
    for (const listener of compat) listener.call(h2, stream, headers, flags, rawHeaders);
  });
}
