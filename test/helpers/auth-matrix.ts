/**
 * The permission matrix (issue 9 "Tests"): the same users, the same operations and the same
 * expected allow/deny on every door. A door is one row of {@link Door}: it says how it performs
 * each operation in its dialect and how it reads its answer as an {@link Outcome}. The RPC doors
 * are here; the TCP bridges' in auth-matrix-tcp.ts, the HTTP bridges' in auth-matrix-http.ts.
 */
import assert from "node:assert/strict";
import type { UserConfig } from "../../src/auth/index.js";
import { createTestClients, type RpcProtocol, type TestClients } from "./clients.js";
import type { TestServer } from "./start-test-server.js";

/**
 * How a door answered, in the matrix's words. `refused`: a door whose dialect answers both
 * refusals alike (RestMQ's 401) says only that; it matches an expected `unauthenticated` or `denied`.
 */
export type Outcome = "ok" | "unauthenticated" | "denied" | "refused";

/** What a case does. Every door does publish and consume; `admin` and `read` where it can. */
export type Operation =
  /** Publish one message to a (queue) topic. */
  | { kind: "publish"; topic: string }
  /** Take the next message of a queue (none is fine: the answer is what counts). */
  | { kind: "consume"; queue: string }
  /** A stream of a topic's log (server streaming). */
  | { kind: "read"; topic: string }
  /** Rewind a queue's subscription (a Seek: the subscriber role; OPQ's replay). */
  | { kind: "seek"; queue: string }
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
  /** Fewest cases the door must run (a door with one operation runs fewer). Default 18. */
  readonly minCases?: number;
  /**
   * Makes the matrix's queues ({@link MATRIX_QUEUES}) the way this door needs them, with an
   * admin's clients. Default: each a topic with `queue: true`.
   */
  prepare?(server: TestServer, admin: TestClients): Promise<void>;
  /** Releases what the door holds beyond one case (after its matrix ran). */
  close?(): Promise<void>;
  /**
   * Performs `op` as `as` and says how the door answered. It returns only once what the operation
   * set going has settled (live consumers gone, deliveries done), so the next case starts quiet.
   */
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
const seek = (queue: string): Operation => ({ kind: "seek", queue });
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
  // Topics that do not exist: a bridge that creates queues on first use must create none here.
  { who: "pub", op: publish("billing.new"), expect: "denied" },
  { who: "sub", op: publish("orders.new"), expect: "denied" },
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
  { who: "nobody", op: seek("orders"), expect: "unauthenticated" },
  { who: "pub", op: seek("orders"), expect: "denied" },
  { who: "pubToken", op: seek("orders"), expect: "denied" },
  { who: "sub", op: seek("orders"), expect: "ok" },
  { who: "sub", op: seek("billing"), expect: "denied" },
  { who: "reader", op: seek("billing"), expect: "ok" },
  { who: "admin", op: seek("orders"), expect: "denied" },
  { who: "both", op: seek("billing"), expect: "ok" },
];

/** Whether an answer is the one a case expects (`refused` stands for either refusal). */
function matches(got: Outcome, expect: Outcome): boolean {
  return got === expect || (got === "refused" && (expect === "unauthenticated" || expect === "denied"));
}

/**
 * What a refused call must leave as it was: the topics (and the last seq of each: nothing
 * published), and the subscriptions with their backlog (nothing consumed, acked or rewound).
 */
export async function brokerState(admin: TestClients): Promise<string> {
  const { topics, subscriptions } = await admin.admin.getStats({});
  return JSON.stringify({
    topics: topics.map((t) => [t.name, String(t.lastSeq), t.subscriptions]).sort(),
    subscriptions: subscriptions.map((x) => [x.name, x.topic, String(x.backlog)]).sort(),
  });
}

/**
 * Runs every case the door supports and asserts all answers at once (a table of mismatches).
 * With `admin` (an admin's clients), every case the door answers with a refusal must also leave
 * the broker as it was ({@link brokerState}: nothing stored, created, consumed or rewound).
 */
export async function runMatrix(server: TestServer, door: Door, admin?: TestClients): Promise<void> {
  const wrong: string[] = [];
  let ran = 0;
  for (const c of MATRIX) {
    const creds: Credentials = as[c.who];
    if (!door.operations.has(c.op.kind)) continue;
    if (creds && "token" in creds && !door.tokens) continue;
    ran++;
    const before = c.expect !== "ok" && admin ? await brokerState(admin) : undefined;
    const got = await door.run(server, creds, c.op);
    const what = `${c.who} ${JSON.stringify(c.op)}`;
    if (!matches(got, c.expect)) wrong.push(`${what}: expected ${c.expect}, got ${got}`);
    else if (before !== undefined && admin && (await brokerState(admin)) !== before) {
      wrong.push(`${what}: refused, but the broker changed: ${before} -> ${await brokerState(admin)}`);
    }
  }
  const least = door.minCases ?? 18;
  assert.ok(ran >= least, `${door.name} ran ${ran} cases (at least ${least} expected)`);
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
    operations: new Set(["publish", "consume", "read", "seek", "admin"]),
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
            case "seek":
              await c.replay.seek({ subscription: op.queue, target: { case: "seq", value: 1n } });
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
