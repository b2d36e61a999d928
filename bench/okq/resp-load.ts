/**
 * A pipelined RESP load generator (raw sockets, no client library): pushes with a fixed pipeline
 * depth per connection, and drains with pipelined pops (plus acks for okQ). Used for the okQ
 * bridge and for Redis itself, so both see the same client.
 */
import * as net from "node:net";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";

/** A RESP reply as the load generator needs it. */
export type LoadReply =
  | { kind: "ok" }
  | { kind: "error"; text: string }
  | { kind: "null" }
  | { kind: "event"; id: string };

/**
 * An incremental reader of server replies: simple strings, errors, integers, bulk strings and
 * arrays of bulk strings (okQ events: the first element is the id). Enough for the load's commands.
 */
class ReplyReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LoadReply[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: LoadReply[] = [];
    let pos = 0;
    for (;;) {
      const r = this.readValue(pos);
      if (r === undefined) break;
      out.push(r.reply);
      pos = r.next;
    }
    this.buf = this.buf.subarray(pos);
    return out;
  }

  private line(pos: number): { text: string; next: number } | undefined {
    const end = this.buf.indexOf("\r\n", pos);
    if (end === -1) return undefined;
    return { text: this.buf.toString("latin1", pos, end), next: end + 2 };
  }

  private bulkAt(pos: number): { value: string | null; next: number } | undefined {
    const l = this.line(pos);
    if (!l) return undefined;
    const len = Number(l.text.slice(1));
    if (len < 0) return { value: null, next: l.next };
    if (this.buf.length < l.next + len + 2) return undefined;
    return { value: this.buf.toString("utf8", l.next, l.next + len), next: l.next + len + 2 };
  }

  private readValue(pos: number): { reply: LoadReply; next: number } | undefined {
    if (pos >= this.buf.length) return undefined;
    const type = this.buf[pos];
    if (type === 0x24 /* $ */) {
      const b = this.bulkAt(pos);
      if (!b) return undefined;
      return { reply: b.value === null ? { kind: "null" } : { kind: "event", id: b.value }, next: b.next };
    }
    if (type === 0x2a /* * */) {
      const l = this.line(pos);
      if (!l) return undefined;
      const n = Number(l.text.slice(1));
      if (n < 0) return { reply: { kind: "null" }, next: l.next };
      let next = l.next;
      let id = "";
      for (let i = 0; i < n; i++) {
        const b = this.bulkAt(next);
        if (!b) return undefined;
        if (i === 0) id = b.value ?? "";
        next = b.next;
      }
      return { reply: n === 0 ? { kind: "null" } : { kind: "event", id }, next };
    }
    const l = this.line(pos);
    if (!l) return undefined;
    if (type === 0x2d /* - */) return { reply: { kind: "error", text: l.text.slice(1) }, next: l.next };
    if (type === 0x5f /* _ */) return { reply: { kind: "null" }, next: l.next };
    return { reply: { kind: "ok" }, next: l.next };
  }
}

/** A connection that sends batches of commands and resolves with their replies, in order. */
class LoadConnection {
  private readonly reader = new ReplyReader();
  private waiting:
    | { count: number; got: LoadReply[]; resolve: (r: LoadReply[]) => void; reject: (e: Error) => void }
    | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on("error", (e) => this.waiting?.reject(e));
    socket.on("close", () => this.waiting?.reject(new Error("connection closed")));
    socket.on("data", (chunk: Buffer) => {
      const w = this.waiting;
      const replies = this.reader.push(chunk);
      if (!w) return;
      w.got.push(...replies);
      if (w.got.length >= w.count) {
        this.waiting = undefined;
        w.resolve(w.got);
      }
    });
  }

  static open(host: string, port: number): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      socket.once("connect", () => resolve(new LoadConnection(socket)));
      socket.once("error", reject);
    });
  }

  send(commands: readonly Buffer[]): Promise<LoadReply[]> {
    return new Promise((resolve, reject) => {
      this.waiting = { count: commands.length, got: [], resolve, reject };
      this.socket.write(Buffer.concat(commands));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The dialect of a load: okQ (QLPUSH/QRPOP+QACK) or Redis lists (RPUSH/LPOP). */
export interface LoadDialect {
  push(queue: string, id: string, payload: Buffer): Buffer;
  pop(queue: string): Buffer;
  /** The ack of a popped event, or undefined when popping settles it already. */
  ack(queue: string, id: string): Buffer | undefined;
}

export const OKQ_DIALECT: LoadDialect = {
  push: (q, id, p) => encodeCommand(["QLPUSH", q, id, p]),
  pop: (q) => encodeCommand(["QRPOP", q, "EX", "60"]),
  ack: (q, id) => encodeCommand(["QACK", q, id]),
};

/** Redis lists: RPUSH and LPOP (FIFO); the payload carries the id, LPOP settles at once. */
export const REDIS_LIST_DIALECT: LoadDialect = {
  push: (q, _id, p) => encodeCommand(["RPUSH", q, p]),
  pop: (q) => encodeCommand(["LPOP", q]),
  ack: () => undefined,
};

/** Result of one phase. */
export interface LoadResult {
  messages: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  perSecond: number;
}

/** Options of {@link pushLoad} and {@link drainLoad}. */
export interface LoadOptions {
  host: string;
  port: number;
  dialect: LoadDialect;
  queue: string;
  connections: number;
  /** Commands in flight per connection. */
  pipeline: number;
}

async function onConnections<T>(o: LoadOptions, fn: (c: LoadConnection, index: number) => Promise<T>): Promise<T[]> {
  const conns = await Promise.all(Array.from({ length: o.connections }, () => LoadConnection.open(o.host, o.port)));
  try {
    return await Promise.all(conns.map((c, i) => fn(c, i)));
  } finally {
    for (const c of conns) c.close();
  }
}

/** Pushes `total` events with unique ids (`<prefix><n>`), `pipeline` deep per connection. */
export async function pushLoad(
  o: LoadOptions & { total: number; payload: Buffer; idPrefix: string },
): Promise<LoadResult> {
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  await onConnections(o, async (c) => {
    while (next < o.total) {
      const batch: Buffer[] = [];
      while (batch.length < o.pipeline && next < o.total)
        batch.push(o.dialect.push(o.queue, `${o.idPrefix}${next++}`, o.payload));
      for (const r of await c.send(batch)) {
        if (r.kind === "error") {
          errors++;
          firstError ??= r.text;
        }
      }
    }
  });
  const elapsedMs = performance.now() - start;
  return { messages: o.total, errors, firstError, elapsedMs, perSecond: (o.total / elapsedMs) * 1000 };
}

/** Pops (and acks) until the queue is empty, `pipeline` pops deep per connection; acks ride with the next pops. */
export async function drainLoad(o: LoadOptions): Promise<LoadResult> {
  let drained = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  await onConnections(o, async (c) => {
    let acks: Buffer[] = [];
    for (;;) {
      const pops = Array.from({ length: o.pipeline }, () => o.dialect.pop(o.queue));
      const replies = await c.send([...acks, ...pops]);
      acks = [];
      let events = 0;
      for (const [i, r] of replies.entries()) {
        if (r.kind === "error") {
          errors++;
          firstError ??= r.text;
        }
        if (i < replies.length - pops.length || r.kind !== "event") continue;
        events++;
        const ack = o.dialect.ack(o.queue, r.id);
        if (ack) acks.push(ack);
      }
      drained += events;
      if (events === 0) {
        if (acks.length > 0) await c.send(acks);
        return;
      }
    }
  });
  const elapsedMs = performance.now() - start;
  return { messages: drained, errors, firstError, elapsedMs, perSecond: (drained / elapsedMs) * 1000 };
}
