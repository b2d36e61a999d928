/**
 * The okQ bridge without ports: a core broker on the in-memory store (optionally with a fake
 * clock) behind an in-process router transport, and raw RESP clients over `duplexPair()`.
 */
import assert from "node:assert/strict";
import { type Duplex, duplexPair } from "node:stream";
import type { BridgeMetrics, BrokerClients, TcpBridge } from "../../src/bridges/bridge.js";
import { createOkqBridge, type OkqOptions } from "../../src/bridges/okq/index.js";
import { type Broker, createBroker } from "../../src/core/index.js";
import { createInProcessClients } from "../../src/server/in-process-clients.js";
import { createServerInterceptors } from "../../src/server/interceptors.js";
import { createMemoryStore } from "../../src/store/index.js";
import { type Clock, silentLogger } from "../../src/util/index.js";

/** Counts what the bridge reports. */
export interface RecordedMetrics extends BridgeMetrics {
  commands: Map<string, number>;
  errors: Map<string, number>;
  connections: number;
}

export function recordMetrics(): RecordedMetrics {
  const m: RecordedMetrics = {
    commands: new Map(),
    errors: new Map(),
    connections: 0,
    connection: (_b, d) => {
      m.connections += d;
    },
    command: (_b, c, count = 1) => {
      m.commands.set(c, (m.commands.get(c) ?? 0) + count);
    },
    error: (_b, c) => {
      m.errors.set(c, (m.errors.get(c) ?? 0) + 1);
    },
  };
  return m;
}

/** A raw RESP client: writes bytes, reads exact reply bytes. */
export interface RawClient {
  socket: Duplex;
  send(bytes: string | Buffer): void;
  /** Reads exactly `expected.length` bytes (within `timeoutMs`) and asserts they are `expected`. */
  expect(expected: string | Buffer, timeoutMs?: number): Promise<void>;
  /** Sends, then expects. */
  roundtrip(request: string | Buffer, expected: string | Buffer): Promise<void>;
  /** Resolves when the server closed the connection (within `timeoutMs`). */
  closed(timeoutMs?: number): Promise<void>;
  /** Bytes received and not yet consumed by `expect`. */
  buffered(): Buffer;
}

/** Wraps a client-side duplex (or a TCP socket) as a {@link RawClient}. */
export function rawClient(socket: Duplex): RawClient {
  let buf = Buffer.alloc(0);
  let ended = false;
  const wakers = new Set<() => void>();
  const wake = () => {
    for (const w of wakers) w();
  };
  socket.on("data", (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    wake();
  });
  socket.on("end", () => {
    ended = true;
    wake();
  });
  socket.on("close", () => {
    ended = true;
    wake();
  });
  socket.on("error", () => {});
  const waitFor = (cond: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (cond()) return resolve();
      const timer = setTimeout(() => {
        wakers.delete(check);
        reject(new Error(`timed out waiting for ${what}; have ${JSON.stringify(buf.toString("latin1"))}`));
      }, timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        wakers.delete(check);
        resolve();
      };
      wakers.add(check);
    });
  const client: RawClient = {
    socket,
    send: (bytes) => {
      socket.write(bytes);
    },
    async expect(expected, timeoutMs = 5_000) {
      const want = typeof expected === "string" ? Buffer.from(expected, "latin1") : expected;
      await waitFor(() => buf.length >= want.length || ended, timeoutMs, JSON.stringify(want.toString("latin1")));
      const got = buf.subarray(0, want.length);
      buf = buf.subarray(want.length);
      assert.equal(got.toString("latin1"), want.toString("latin1"));
    },
    async roundtrip(request, expected) {
      client.send(request);
      await client.expect(expected);
    },
    closed: (timeoutMs = 5_000) => waitFor(() => ended, timeoutMs, "the connection to close"),
    buffered: () => buf,
  };
  return client;
}

/** A bridge on an in-memory broker. */
export interface OkqHarness {
  broker: Broker;
  clients: BrokerClients;
  bridge: TcpBridge;
  metrics: RecordedMetrics;
  shutdown: AbortController;
  /** A new connection to the bridge. */
  connect(): RawClient;
  close(): Promise<void>;
}

/** Creates an {@link OkqHarness}. */
export function createOkqHarness(options: { clock?: Clock; okq?: OkqOptions } = {}): OkqHarness {
  const store = createMemoryStore();
  const maxMessageBytes = options.okq?.maxMessageBytes;
  const broker = createBroker({
    store,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(maxMessageBytes ? { limits: { maxMessageBytes } } : {}),
  });
  const shutdown = new AbortController();
  // The production wiring: the same in-process clients and server interceptors as the server.
  const interceptors = createServerInterceptors({ shutdownSignal: shutdown.signal });
  const clients = createInProcessClients(broker, silentLogger, interceptors);
  const metrics = recordMetrics();
  const bridge = createOkqBridge(
    { clients, logger: silentLogger, metrics, shutdownSignal: shutdown.signal },
    options.okq ?? {},
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
