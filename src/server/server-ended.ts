/**
 * A mark for the HTTP/2 streams and sessions the server itself resets or destroys (a body
 * deadline, a failed handler, shutdown), so that counting the streams a client reset
 * (http2-streams.ts, `switchyard_rpc_streams_reset_total`) leaves them out: Node reports both the
 * same way (an `aborted` stream with an error code).
 */
const kServerEnded = Symbol("serverEnded");

type Markable = object & { [kServerEnded]?: true };

/** Marks `target` (a stream or a session) as ended by the server; call it before closing it. */
export function markServerEnded(target: object): void {
  (target as Markable)[kServerEnded] = true;
}

/** Whether {@link markServerEnded} marked `target`. */
export function isServerEnded(target: object | undefined): boolean {
  return target !== undefined && (target as Markable)[kServerEnded] === true;
}
