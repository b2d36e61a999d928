/**
 * The ohpq bridge without ports: a core broker on the in-memory store (optionally with a fake
 * clock, shared with the bridge's timers) behind the in-process router transport, and raw text
 * clients over `duplexPair()`. With `users`, auth is on through a small test authenticator whose
 * per-user clients carry a permission interceptor: a stand-in for the server's auth, which
 * answers PERMISSION_DENIED exactly as the real one will (a ConnectError with an ErrorDetail).
 */
import { type Duplex, duplexPair } from "node:stream";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { BrokerClients, TcpBridge } from "../../src/bridges/bridge.js";
import { createOhpqBridge, type OhpqAuthenticator, type OhpqOptions } from "../../src/bridges/ohpq/index.js";
import { type Broker, createBroker } from "../../src/core/index.js";
import { BrokerError } from "../../src/errors/index.js";
import { createInProcessClients } from "../../src/server/in-process-clients.js";
import { createServerInterceptors } from "../../src/server/interceptors.js";
import { createMemoryStore } from "../../src/store/index.js";
import { type Clock, type Logger, silentLogger } from "../../src/util/index.js";
import { type RawClient, type RecordedMetrics, rawClient, recordMetrics } from "./okq-harness.js";

/** A user of the test authenticator (the ohpq config's form: one role, allowed queues). */
export interface TestUser {
  password: string;
  roles: ("publisher" | "subscriber")[];
  /** Queue names, or `read_all` / `*` for every queue. */
  queues: string[];
}

/** The users of the transcripts (test/transcripts/ohpq). */
export const TRANSCRIPT_USERS: Record<string, TestUser> = {
  bob: { password: "password123", roles: ["publisher", "subscriber"], queues: ["myqueue", "q", "jobs"] },
  alice: { password: "s3cret", roles: ["publisher", "subscriber"], queues: ["*"] },
  pete: { password: "pub", roles: ["publisher"], queues: ["jobs"] },
  sue: { password: "sub", roles: ["subscriber"], queues: ["read_all"] },
};

/** The RPCs of SubscriberService (need `subscriber`); PublisherService needs `publisher`. */
const SUBSCRIBER_METHODS = new Set(["Pull", "Subscribe", "Ack", "Nack", "ModifyAckDeadline", "Peek"]);

function denied(message: string): ConnectError {
  const detail = { desc: ErrorDetailSchema, value: { reason: "PERMISSION_DENIED", metadata: {} } };
  return new ConnectError(message, Code.PermissionDenied, undefined, [detail]);
}

/** The permission rule of the broker's users, applied to one user's calls. */
function permissionInterceptor(user: TestUser): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    const method = req.method.name;
    const fields = req.message as { topic?: string; subscription?: string };
    const queue = fields.topic ?? fields.subscription ?? "";
    const role = service.endsWith("PublisherService")
      ? "publisher"
      : service.endsWith("SubscriberService") && SUBSCRIBER_METHODS.has(method)
        ? "subscriber"
        : undefined;
    if (role === undefined) throw denied(`${method} needs admin`);
    if (!user.roles.includes(role)) throw denied(`${method} needs ${role}`);
    const all = user.queues.includes("*") || (role === "subscriber" && user.queues.includes("read_all"));
    if (!all && !user.queues.includes(queue)) throw denied(`no access to ${queue}`);
    return next(req);
  };
}

/** A bridge on an in-memory broker. */
export interface OhpqHarness {
  broker: Broker;
  /** The bridge's own (unrestricted) clients. */
  clients: BrokerClients;
  bridge: TcpBridge;
  metrics: RecordedMetrics;
  shutdown: AbortController;
  /** A new connection to the bridge. */
  connect(): RawClient;
  close(): Promise<void>;
}

/** Options of {@link createOhpqHarness}. */
export interface OhpqHarnessOptions {
  clock?: Clock;
  ohpq?: OhpqOptions;
  /** Turns auth on with these users. */
  users?: Record<string, TestUser>;
  /** Largest message in bytes (the broker's limit). */
  maxMessageBytes?: number;
  /** The bridge's logger. Default: silent. */
  logger?: Logger;
  /** More server interceptors, after the server's own (to observe the bridge's calls). */
  interceptors?: Interceptor[];
}

/** Creates an {@link OhpqHarness}. */
export function createOhpqHarness(options: OhpqHarnessOptions = {}): OhpqHarness {
  const store = createMemoryStore();
  const broker = createBroker({
    store,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.maxMessageBytes ? { limits: { maxMessageBytes: options.maxMessageBytes } } : {}),
  });
  const shutdown = new AbortController();
  const interceptors = [
    ...createServerInterceptors({ shutdownSignal: shutdown.signal }),
    ...(options.interceptors ?? []),
  ];
  const clients = createInProcessClients(broker, silentLogger, interceptors);
  const metrics = recordMetrics();
  const users = options.users;
  const auth: OhpqAuthenticator<TestUser> | undefined = users && {
    enabled: true,
    async login(user, password) {
      const u = users[user];
      if (u?.password !== password) throw new BrokerError("UNAUTHENTICATED", "bad credentials");
      return u;
    },
  };
  const clientsOf = new WeakMap<TestUser, BrokerClients>();
  const bridge = createOhpqBridge<TestUser>(
    {
      clients,
      logger: options.logger ?? silentLogger,
      metrics,
      shutdownSignal: shutdown.signal,
      ...(auth
        ? {
            auth,
            // As the server's clientsAs: the same principal always gets the same clients.
            clientsAs: (u: TestUser) => {
              let made = clientsOf.get(u);
              if (!made) {
                made = createInProcessClients(broker, silentLogger, [...interceptors, permissionInterceptor(u)]);
                clientsOf.set(u, made);
              }
              return made;
            },
          }
        : {}),
    },
    { ...(options.clock ? { clock: options.clock } : {}), ...options.ohpq },
  );
  const sockets: Duplex[] = [];
  return {
    broker,
    clients,
    bridge,
    metrics,
    shutdown,
    connect() {
      const [client, server] = duplexPair();
      // As with TCP, a side that is destroyed closes the other (duplexPair does not, on Node 20).
      client.once("close", () => server.destroy());
      server.once("close", () => client.destroy());
      sockets.push(client);
      bridge.handleConnection(server);
      return rawClient(client);
    },
    async close() {
      if (!shutdown.signal.aborted) shutdown.abort();
      await bridge.close(1000);
      for (const s of sockets) s.destroy();
      await broker.close();
      await store.close();
    },
  };
}
