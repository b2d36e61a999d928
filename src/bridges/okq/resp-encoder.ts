/**
 * RESP reply values and their encoding. RESP2 is what okQ spoke; RESP3 (after `HELLO 3`) differs
 * only in the null (`_`) and in maps (`%`), which RESP2 sends as flat arrays.
 */

/** A reply value, encoded per protocol version by {@link encodeReply}. */
export type Reply =
  | { readonly t: "simple"; readonly s: string }
  | { readonly t: "error"; readonly s: string }
  | { readonly t: "int"; readonly n: number }
  | { readonly t: "bulk"; readonly v: Buffer | string }
  | { readonly t: "null" }
  | { readonly t: "array"; readonly items: readonly Reply[] }
  | { readonly t: "map"; readonly entries: readonly (readonly [Reply, Reply])[] };

/** RESP protocol version of a connection. */
export type RespVersion = 2 | 3;

/** `+s` (CR and LF are not allowed in a simple string and become spaces). */
export const simple = (s: string): Reply => ({ t: "simple", s });
/** `-s` (CR and LF become spaces, so an error is always one line). */
export const error = (s: string): Reply => ({ t: "error", s });
/** `:n` */
export const int = (n: number): Reply => ({ t: "int", n });
/** `$len` data */
export const bulk = (v: Buffer | string): Reply => ({ t: "bulk", v });
/** `$-1` (RESP2) or `_` (RESP3). */
export const NULL: Reply = { t: "null" };
/** `*n` items */
export const array = (items: readonly Reply[]): Reply => ({ t: "array", items });
/** `%n` (RESP3) or a flat `*2n` array (RESP2). */
export const map = (entries: readonly (readonly [Reply, Reply])[]): Reply => ({ t: "map", entries });

export const OK = simple("OK");
export const PONG = simple("PONG");

const oneLine = (s: string) => s.replace(/[\r\n]/g, " ");

/** Appends the encoding of `reply` to `out` (strings are latin1-safe headers or UTF-8 text). */
function encodeInto(reply: Reply, version: RespVersion, out: (Buffer | string)[]): void {
  switch (reply.t) {
    case "simple":
      out.push(`+${oneLine(reply.s)}\r\n`);
      return;
    case "error":
      out.push(`-${oneLine(reply.s)}\r\n`);
      return;
    case "int":
      out.push(`:${reply.n}\r\n`);
      return;
    case "bulk": {
      const { v } = reply;
      out.push(`$${typeof v === "string" ? Buffer.byteLength(v) : v.length}\r\n`, v, "\r\n");
      return;
    }
    case "null":
      out.push(version === 3 ? "_\r\n" : "$-1\r\n");
      return;
    case "array":
      out.push(`*${reply.items.length}\r\n`);
      for (const item of reply.items) encodeInto(item, version, out);
      return;
    case "map":
      out.push(version === 3 ? `%${reply.entries.length}\r\n` : `*${reply.entries.length * 2}\r\n`);
      for (const [k, v] of reply.entries) {
        encodeInto(k, version, out);
        encodeInto(v, version, out);
      }
      return;
  }
}

/** Encodes one reply as bytes. */
export function encodeReply(reply: Reply, version: RespVersion = 2): Buffer {
  return encodeReplies([reply], version);
}

/**
 * Encodes replies one after the other into a single buffer (the bytes of their
 * {@link encodeReply}s concatenated): one size pass, one allocation, one copy of each bulk.
 */
export function encodeReplies(replies: readonly Reply[], version: RespVersion = 2): Buffer {
  const parts: (Buffer | string)[] = [];
  for (const r of replies) encodeInto(r, version, parts);
  let size = 0;
  for (const p of parts) size += typeof p === "string" ? Buffer.byteLength(p) : p.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    if (typeof p === "string") at += out.write(p, at);
    else at += p.copy(out, at);
  }
  return out;
}

/** Encodes a request (array of bulk strings), as a client sends it; used by tests and benchmarks. */
export function encodeCommand(args: readonly (Buffer | string)[]): Buffer {
  return encodeReply(array(args.map(bulk)));
}
