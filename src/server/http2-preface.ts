/**
 * Tells a cleartext HTTP/2 connection from an HTTP/1.1 one by its first bytes, for the one-port
 * listener (one-port-listener.ts; README "Architecture"). Without TLS there is no ALPN, and Node
 * ignores `allowHTTP1`, so the listener looks for the HTTP/2 client connection preface
 * (RFC 9113 §3.4) before it hands the socket to the HTTP/2 or the HTTP/1.1 server.
 */
import type * as net from "node:net";

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Reads `socket` until its first bytes show whether it speaks HTTP/2 (they are the preface) or
 * not (they differ from it), then pauses it, puts the bytes read back (`unshift`) and calls
 * `identified` once: the callee hands the socket on (and resumes it if its reader needs that).
 * A socket that errors or sends too little within `timeoutMs` is destroyed and never identified.
 */
export function detectHttp2Preface(
  socket: net.Socket,
  timeoutMs: number,
  identified: (isHttp2: boolean) => void,
): void {
  const chunks: Buffer[] = [];
  let length = 0;
  const onError = () => socket.destroy();
  const onTimeout = () => socket.destroy();
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    const head = Buffer.concat(chunks, length);
    const n = Math.min(head.length, PREFACE.length);
    const isH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isH2 && head.length < PREFACE.length) return; // a prefix of the preface: wait for more
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("timeout", onTimeout);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(head);
    identified(isH2);
  };
  socket.on("data", onData);
  socket.on("error", onError);
  socket.setTimeout(timeoutMs, onTimeout);
}
