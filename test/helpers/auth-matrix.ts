/**
 * The permission matrix (issue 9 "Tests"): the same users, the same operations and the same
 * expected allow/deny on every door. A door is one row of {@link Door}: it says how it performs
 * each operation in its dialect and how it reads its answer as an {@link Outcome}. New doors (the
 * ohpq text bridge, the HTTP bridges) add a `Door` and run {@link runMatrix}.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { UserConfig } from "../../src/auth/index.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { createTestClients, type RpcProtocol } from "./clients.js";
import type { TestServer } from "./start-test-server.js";

/** How a door answered, in the matrix's words. */
export type Outcome = "ok" | "unauthenticated" | "denied";

/** What a case does. Every door does publish and consume; `admin` and `read` where it can. */
export type Operation =
  /** Publish one message to a (queue) topic. */
  | { kind: "publish"; topic: string }
  /** Take the next message of a queue (none is fine: the answer is what counts). */
  | { kind: "consume"; queue: string }
  /** A stream of a topic's log (server streaming). */
  | { kind: "read"; topic: string }
  /** Something only admins may do (each door picks one: ListTopics, QFLUSH, …). */
  | { kind: "admin" };

/** Who calls: nobody, a user and password, or a bearer token. */
export type Credentials = { user: string; password: string } | { token: string } | undefined;

/** How one client protocol performs the matrix's operations. */
export interface Door {
  readonly name: string;
  /** Operations the dialect can express; other cases are skipped for this door. */
  readonly operations: ReadonlySet<Operation["kind"]>;
  /** Whether the dialect can send bearer tokens (RPC: yes; RESP, text: passwords only). */
  readonly tokens: boolean;
  run(server: TestServer, as: Credentials, op: Operation): Promise<Outcome>;
}

/** The users of the matrix (one with an scrypt hash, one in the ohpq style with read_all). */
export const MATRIX_USERS: UserConfig[] = [
  { name: "pub", password: "pub-pw", tokens: ["tok-pub"], roles: ["publisher"], topics: ["orders", "orders.*"] },
  {
    name: "sub",
    // scrypt of "sub-pw" with N=1024 (cheap for tests; the format is the production one).
    passwordHash: "scrypt$N=1024,r=8,p=1$r8kPFg0aR84wuO+lYsyDpQ$izOjUAge8M5+8fEeTVDE6FLqwzvDXZzisG7ujLT6cLw",
    tokens: [],
    roles: ["subscriber"],
    topics: ["orders"],
  },
  { name: "reader", password: "reader-pw", tokens: [], roles: ["subscriber"], topics: ["read_all"] },
  { name: "admin", password: "admin-pw", tokens: ["tok-admin"], roles: ["admin"], topics: [] },
  { name: "both", password: "both-pw", tokens: [], roles: ["publisher", "subscriber"], topics: ["*"] },
];

/** The queues every case may name; created before the cases run. */
export const MATRIX_QUEUES = ["orders", "orders.eu", "billing"];

const as = {
  nobody: undefined,
  wrong: { user: "pub", password: "nope" },
  unknown: { user: "mallory", password: "pub-pw" },
  pub: { user: "pub", password: "pub-pw" },
  pubToken: { token: "tok-pub" },
  badToken: { token: "tok-nope" },
  sub: { user: "sub", password: "sub-pw" },
  reader: { user: "reader", password: "reader-pw" },
  admin: { user: "admin", password: "admin-pw" },
  adminToken: { token: "tok-admin" },
  both: { user: "both", password: "both-pw" },
} satisfies Record<string, Credentials>;

/** One row of expectations. */
export interface MatrixCase {
  who: keyof typeof as;
  op: Operation;
  expect: Outcome;
}

const publish = (topic: string): Operation => ({ kind: "publish", topic });
const consume = (queue: string): Operation => ({ kind: "consume", queue });
const read = (topic: string): Operation => ({ kind: "read", topic });
const admin: Operation = { kind: "admin" };

/** The expected answers: the same on every door. */
export const MATRIX: readonly MatrixCase[] = [
  { who: "nobody", op: publish("orders"), expect: "unauthenticated" },
  { who: "nobody", op: consume("orders"), expect: "unauthenticated" },
  { who: "nobody", op: admin, expect: "unauthenticated" },
  { who: "wrong", op: publish("orders"), expect: "unauthenticated" },
  { who: "unknown", op: consume("orders"), expect: "unauthenticated" },
  { who: "badToken", op: publish("orders"), expect: "unauthenticated" },
  { who: "pub", op: publish("orders"), expect: "ok" },
  { who: "pub", op: publish("orders.eu"), expect: "ok" },
  { who: "pub", op: publish("billing"), expect: "denied" },
  { who: "pub", op: consume("orders"), expect: "denied" },
  { who: "pub", op: read("orders"), expect: "denied" },
  { who: "pub", op: admin, expect: "denied" },
  { who: "pubToken", op: publish("orders"), expect: "ok" },
  { who: "pubToken", op: consume("orders"), expect: "denied" },
  { who: "sub", op: consume("orders"), expect: "ok" },
  { who: "sub", op: read("orders"), expect: "ok" },
  { who: "sub", op: consume("billing"), expect: "denied" },
  { who: "sub", op: read("billing"), expect: "denied" },
  { who: "sub", op: publish("orders"), expect: "denied" },
  { who: "sub", op: admin, expect: "denied" },
  { who: "reader", op: consume("billing"), expect: "ok" },
  { who: "reader", op: consume("orders.eu"), expect: "ok" },
  { who: "reader", op: read("billing"), expect: "ok" },
  { who: "reader", op: publish("orders"), expect: "denied" },
  { who: "admin", op: admin, expect: "ok" },
  { who: "admin", op: publish("orders"), expect: "denied" },
  { who: "admin", op: consume("orders"), expect: "denied" },
  { who: "adminToken", op: admin, expect: "ok" },
  { who: "both", op: publish("billing"), expect: "ok" },
  { who: "both", op: consume("billing"), expect: "ok" },
  { who: "both", op: admin, expect: "denied" },
];

/** Runs every case the door supports and asserts all answers at once (a table of mismatches). */
export async function runMatrix(server: TestServer, door: Door): Promise<void> {
  const wrong: string[] = [];
  let ran = 0;
  for (const c of MATRIX) {
    const creds: Credentials = as[c.who];
    if (!door.operations.has(c.op.kind)) continue;
    if (creds && "token" in creds && !door.tokens) continue;
    ran++;
    const got = await door.run(server, creds, c.op);
    if (got !== c.expect) wrong.push(`${c.who} ${JSON.stringify(c.op)}: expected ${c.expect}, got ${got}`);
  }
  assert.ok(ran >= 18, `${door.name} ran ${ran} cases`);
  assert.deepEqual(wrong, [], `${door.name}: answers that differ from the matrix`);
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** Classifies an RPC failure by its code and checks the ErrorDetail reason that goes with it. */
async function rpcOutcome(call: () => Promise<unknown>): Promise<Outcome> {
  const { Code, ConnectError } = await import("@connectrpc/connect");
  const { ErrorDetailSchema } = await import("../../gen/switchyard/v1/errors_pb.js");
  try {
    await call();
    return "ok";
  } catch (e) {
    const err = ConnectError.from(e);
    const reason = err.findDetails(ErrorDetailSchema)[0]?.reason;
    if (err.code === Code.Unauthenticated && reason === "UNAUTHENTICATED") return "unauthenticated";
    if (err.code === Code.PermissionDenied && reason === "PERMISSION_DENIED") return "denied";
    throw err;
  }
}

/** A door over one of the RPC protocols of the RPC port (plain, or TLS with `ca`). */
export function rpcDoor(protocol: RpcProtocol, tlsCa?: string): Door {
  return {
    name: `${protocol}${tlsCa ? " over TLS" : ""}`,
    operations: new Set(["publish", "consume", "read", "admin"]),
    tokens: true,
    async run(server, creds, op) {
      const authorization =
        creds === undefined
          ? undefined
          : "token" in creds
            ? `Bearer ${creds.token}`
            : basic(creds.user, creds.password);
      const baseUrl = tlsCa ? server.baseUrl.replace(/^http:/, "https:") : server.baseUrl;
      const c = createTestClients(baseUrl, protocol, {
        ...(authorization ? { authorization } : {}),
        ...(tlsCa ? { ca: tlsCa } : {}),
      });
      try {
        return await rpcOutcome(async () => {
          switch (op.kind) {
            case "publish":
              await c.publisher.publish({ topic: op.topic, messages: [{ data: new Uint8Array([1]) }] });
              return;
            case "consume":
              await c.subscriber.pull({ subscription: op.queue, maxMessages: 1, autoAck: true });
              return;
            case "read":
              for await (const _ of c.replay.read({ topic: op.topic, follow: false })) {
                // drains the log
              }
              return;
            case "admin":
              await c.admin.listTopics({});
              return;
          }
        });
      } finally {
        c.close();
      }
    },
  };
}

/** Reads one RESP reply (simple, error, integer, bulk, array) and returns its first line. */
async function readReply(socket: Duplex, buffered: { data: Buffer }): Promise<string> {
  const complete = (b: Buffer, at: number): number | undefined => {
    const eol = b.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(b[at] as number);
    const n = Number(b.subarray(at + 1, eol).toString("latin1"));
    if (type === "$") return n < 0 ? eol + 2 : b.length >= eol + 4 + n ? eol + 4 + n : undefined;
    if (type === "*") {
      let pos: number | undefined = eol + 2;
      for (let i = 0; i < n && pos !== undefined; i++) pos = complete(b, pos);
      return pos;
    }
    return eol + 2;
  };
  for (;;) {
    const end = complete(buffered.data, 0);
    if (end !== undefined && buffered.data.length > 0) {
      const line = buffered.data.subarray(0, buffered.data.indexOf("\r\n")).toString("utf8");
      buffered.data = buffered.data.subarray(end);
      return line;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no RESP reply within 5 s")), 5_000);
      socket.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** What a RESP answer means in the matrix; fails on an answer no case expects. */
function respOutcome(line: string): Outcome {
  if (line.startsWith("-NOAUTH ") || line.startsWith("-WRONGPASS ")) return "unauthenticated";
  if (line.startsWith("-NOPERM ")) return "denied";
  if (line.startsWith("-")) throw new Error(`unexpected RESP error: ${line}`);
  return "ok";
}

/** The okQ bridge (RESP): AUTH, then QLPUSH / QRPOP / QFLUSH. */
export function respDoor(tlsCa?: string): Door {
  return {
    name: `resp${tlsCa ? " over TLS" : ""}`,
    operations: new Set(["publish", "consume", "admin"]),
    tokens: false,
    async run(server, creds, op) {
      const { host, port } = server.okq as { host: string; port: number };
      const socket: net.Socket = tlsCa ? tls.connect({ host, port, ca: tlsCa }) : net.connect({ host, port });
      await new Promise<void>((resolve, reject) => {
        socket.once(tlsCa ? "secureConnect" : "connect", resolve);
        socket.once("error", reject);
      });
      const buffered = { data: Buffer.alloc(0) };
      socket.on("data", (chunk: Buffer) => {
        buffered.data = Buffer.concat([buffered.data, chunk]);
      });
      const send = async (...args: string[]) => {
        socket.write(encodeCommand(args));
        return readReply(socket, buffered);
      };
      try {
        if (creds && "user" in creds) {
          const reply = await send("AUTH", creds.user, creds.password);
          if (reply !== "+OK") return respOutcome(reply);
        }
        switch (op.kind) {
          case "publish":
            return respOutcome(await send("QLPUSH", op.topic, `id-${Math.random()}`, "x"));
          case "consume":
            return respOutcome(await send("QRPOP", op.queue, "EX", "0"));
          case "admin":
            return respOutcome(await send("QFLUSH", "orders"));
          default:
            throw new Error(`resp cannot ${op.kind}`);
        }
      } finally {
        socket.destroy();
      }
    },
  };
}

/** Reads one `\n`-terminated line (within 5 s). */
async function readLine(socket: Duplex, buffered: { data: Buffer }): Promise<string> {
  for (;;) {
    const nl = buffered.data.indexOf(0x0a);
    if (nl >= 0) {
      const line = buffered.data.subarray(0, nl).toString("utf8");
      buffered.data = buffered.data.subarray(nl + 1);
      return line;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no ohpq line within 5 s")), 5_000);
      socket.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** What an ohpq answer line means in the matrix (protocols.md §4.3). */
function ohpqOutcome(line: string): Outcome {
  if (line === "ERROR not authenticated" || line === "ERROR authentication failed") return "unauthenticated";
  if (line === "ERROR permission denied") return "denied";
  if (line.startsWith("ERROR")) throw new Error(`unexpected ohpq error: ${line}`);
  return "ok";
}

/** The "Oh, Please Queue" text bridge: AUTH, then PUB / GET (it has no admin command). */
export function ohpqDoor(tlsCa?: string): Door {
  return {
    name: `ohpq text${tlsCa ? " over TLS" : ""}`,
    operations: new Set(["publish", "consume"]),
    tokens: false,
    async run(server, creds, op) {
      const address = server.addresses.ohpq as string;
      const i = address.lastIndexOf(":");
      const target = { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
      const socket: net.Socket = tlsCa ? tls.connect({ ...target, ca: tlsCa }) : net.connect(target);
      await new Promise<void>((resolve, reject) => {
        socket.once(tlsCa ? "secureConnect" : "connect", resolve);
        socket.once("error", reject);
      });
      const buffered = { data: Buffer.alloc(0) };
      socket.on("data", (chunk: Buffer) => {
        buffered.data = Buffer.concat([buffered.data, chunk]);
      });
      const send = (line: string) => {
        socket.write(`${line}\n`);
        return readLine(socket, buffered);
      };
      try {
        if (creds && "user" in creds) {
          const reply = await send(`AUTH ${creds.user} ${creds.password}`);
          if (reply !== "OK authenticated") return ohpqOutcome(reply);
        }
        switch (op.kind) {
          case "publish":
            return ohpqOutcome(await send(`PUB ${op.topic} matrix message`));
          case "consume":
            return ohpqOutcome(await send(`GET ${op.queue}`));
          default:
            throw new Error(`ohpq cannot ${op.kind}`);
        }
      } finally {
        socket.destroy();
      }
    },
  };
}
