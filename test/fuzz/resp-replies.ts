/** A strict reader of RESP2/RESP3 replies, for checking what a fuzzed session wrote. */

/** A decoded reply: errors keep their text, everything else only its shape. */
export type ReadReply = { error: string } | { other: true };

/**
 * Reads every complete reply in `bytes`. Returns the replies and how many bytes they took;
 * throws when the bytes are not RESP (a malformed reply is a bug of the server).
 */
export function readReplies(bytes: Buffer): { replies: ReadReply[]; used: number } {
  const replies: ReadReply[] = [];
  let at = 0;
  for (;;) {
    const r = readOne(bytes, at);
    if (r === undefined) return { replies, used: at };
    replies.push(r.reply);
    at = r.next;
  }
}

function line(bytes: Buffer, at: number): { text: string; next: number } | undefined {
  const cr = bytes.indexOf("\r\n", at, "latin1");
  if (cr === -1) return undefined;
  return { text: bytes.toString("latin1", at, cr), next: cr + 2 };
}

function count(text: string, what: string): number {
  if (!/^(-1|\d+)$/.test(text)) throw new Error(`bad ${what} length ${JSON.stringify(text)}`);
  return Number(text);
}

function readOne(bytes: Buffer, at: number): { reply: ReadReply; next: number } | undefined {
  if (at >= bytes.length) return undefined;
  const type = String.fromCharCode(bytes[at] as number);
  const l = line(bytes, at + 1);
  if (l === undefined) return undefined;
  switch (type) {
    case "+":
    case ":":
    case ",":
    case "(":
    case "#":
      if (/[\r\n]/.test(l.text)) throw new Error("a line reply with CR or LF");
      return { reply: { other: true }, next: l.next };
    case "_":
      if (l.text !== "") throw new Error("bad null");
      return { reply: { other: true }, next: l.next };
    case "-":
      return { reply: { error: l.text }, next: l.next };
    case "$":
    case "=":
    case "!": {
      const n = count(l.text, "bulk");
      if (n === -1) return { reply: { other: true }, next: l.next };
      if (l.next + n + 2 > bytes.length) return undefined;
      if (bytes.toString("latin1", l.next + n, l.next + n + 2) !== "\r\n") throw new Error("bulk without CRLF");
      const reply = type === "!" ? { error: bytes.toString("latin1", l.next, l.next + n) } : { other: true as const };
      return { reply, next: l.next + n + 2 };
    }
    case "*":
    case "%":
    case "~":
    case ">":
    case "|": {
      const n = count(l.text, "aggregate");
      let next = l.next;
      const items = n === -1 ? 0 : type === "%" || type === "|" ? 2 * n : n;
      for (let i = 0; i < items; i++) {
        const r = readOne(bytes, next);
        if (r === undefined) return undefined;
        next = r.next;
      }
      return { reply: { other: true }, next };
    }
    default:
      throw new Error(`unknown reply type ${JSON.stringify(type)} at ${at}`);
  }
}
