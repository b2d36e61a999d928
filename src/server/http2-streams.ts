import type * as http2 from "node:http2";
import type { Logger } from "../util/index.js";
import type { watchHttp2Idle } from "./http2-idle.js";

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
}

const kSession = Symbol("session");
const kClaimed = Symbol("claimed");
type TrackedStream = http2.ServerHttp2Stream & { [kSession]?: http2.ServerHttp2Session; [kClaimed]?: boolean };

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
  const { idle, claim } = routes;
  // One 'close' listener for every stream (`this` is the stream): no closure per call.
  function onStreamClose(this: TrackedStream): void {
    const session = this[kSession];
    if (session) idle.streamClosed(session);
    if (this[kClaimed]) routes.claimedClosed();
  }
  h2.on("stream", (stream: TrackedStream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) => {
    const session = stream.session as http2.ServerHttp2Session;
    stream[kSession] = session;
    idle.streamOpened(session);
    stream.once("close", onStreamClose);
    if (claim && !routes.isClosing()) {
      routes.claimed();
      stream[kClaimed] = true;
      try {
        stream[kClaimed] = claim(stream, headers);
      } catch (e) {
        // A bug in the stream handler costs this stream, never the process.
        routes.logger.error("http2 stream handler failed", { error: e });
        stream.destroy();
        return;
      }
      if (stream[kClaimed]) return;
      routes.claimedClosed();
    }
    for (const listener of compat) listener.call(h2, stream, headers, ...rest);
  });
}
