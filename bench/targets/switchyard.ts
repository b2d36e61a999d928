/**
 * Switchyard as a benchmark target: the real CLI in a child process (see ../lib/broker-process.ts),
 * and generated Connect clients in this process, one HTTP/2 connection per publisher, consumer and
 * admin client. Consumers read one Subscribe stream each (flow control by window) and ack in batches.
 * Connect clients use Switchyard's own transport (src/client/, docs/client.md) unless
 * BENCH_SWITCHYARD_CLIENT=connect-node.
 */
import { setMaxListeners } from "node:events";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { createSwitchyardSessionManager, createSwitchyardTransport } from "../../src/client/index.js";
import { type BrokerProcess, startBrokerProcess } from "../lib/broker-process.js";
import { removeDir } from "../lib/tempdir.js";
import { sleepMs } from "../lib/time.js";
import type { BenchConsumer, BenchPublisher, BenchTarget, ReceivedBenchMessage, StartTarget } from "./target.js";

/** Protocol of the benchmark clients: gRPC or Connect (binary), both over h2c. */
export type SwitchyardProtocol = "grpc" | "connect";

/**
 * The protocol from BENCH_SWITCHYARD_PROTOCOL. Default "connect": measured here, one-message Publish
 * calls ran at ~2.5k/s over Connect against ~1.1–1.5k/s over gRPC, batched ones ~10–30 % faster.
 */
export function switchyardProtocol(): SwitchyardProtocol {
  return process.env.BENCH_SWITCHYARD_PROTOCOL === "grpc" ? "grpc" : "connect";
}

/** The client transport of the Connect protocol: Switchyard's own, or connect-node's. */
export type SwitchyardClient = "switchyard" | "connect-node";

/**
 * The client from BENCH_SWITCHYARD_CLIENT: "connect-node" for connect-node's
 * `createConnectTransport`, else (default) `createSwitchyardTransport` (src/client/), which
 * costs the client process less CPU per unary call (BENCHMARKS.md). gRPC always uses connect-node.
 */
export function switchyardClient(): SwitchyardClient {
  return process.env.BENCH_SWITCHYARD_CLIENT === "connect-node" ? "connect-node" : "switchyard";
}

/**
 * Subscribe settings of the consumers (documented in the output): the stream's window in messages
 * and bytes (64 MiB lets 256 KiB messages flow), and the Ack calls in flight at once.
 */
export const STREAM = {
  maxOutstandingMessages: 2000,
  maxOutstandingBytes: 64 * 1024 * 1024,
  maxPendingAcks: 4,
} as const;

/**
 * One HTTP/2 connection of the bench's clients (`protocol` defaults to BENCH_SWITCHYARD_PROTOCOL,
 * the Connect client to BENCH_SWITCHYARD_CLIENT); `close()` aborts its streams and drops the session.
 */
function connect(
  baseUrl: string,
  protocol: SwitchyardProtocol = switchyardProtocol(),
  client: SwitchyardClient = switchyardClient(),
): { transport: Transport; close(): void } {
  // Large messages in flight (256 × 256 KiB) need more than Node's 10 MB session default. Every
  // client kind gets the package's session, with its receive windows (docs/client.md);
  // BENCH_CLIENT_WINDOWS=default keeps HTTP/2's 64 KiB ones, as every section before 2026-12-07 did.
  const windows =
    process.env.BENCH_CLIENT_WINDOWS === "default" ? { streamWindowBytes: 65_535, connectionWindowBytes: 65_535 } : {};
  const sessionManager = createSwitchyardSessionManager(baseUrl, {
    nodeOptions: { maxSessionMemory: 512 },
    ...windows,
  });
  const options = { baseUrl, sessionManager, acceptCompression: [], useBinaryFormat: true };
  const transport =
    protocol === "grpc"
      ? createGrpcTransport(options)
      : client === "switchyard"
        ? createSwitchyardTransport(options)
        : createConnectTransport({ ...options, httpVersion: "2" });
  return { transport, close: () => sessionManager.abort() };
}

async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (e) {
    if (!(e instanceof ConnectError && e.code === Code.NotFound)) throw e;
  }
}

/** Starts Switchyard on loopback with data in `dataDir` (durability flush, the default). */
export const startSwitchyard: StartTarget = async (dataDir) => {
  let broker: BrokerProcess = await startBrokerProcess(dataDir);
  let admin = connect(broker.baseUrl);
  const closers = new Set<() => Promise<void>>();
  const adminClient = () => createClient(AdminService, admin.transport);

  const target: BenchTarget = {
    name: "switchyard",
    ackMeaning:
      "Publish answered after its LMDB transaction is committed and fdatasync'ed (--durability flush); " +
      `client: ${switchyardProtocol() === "grpc" ? "connect-node gRPC" : `${switchyardClient()} Connect`} transport`,
    get brokerPid() {
      return broker.pid;
    },
    get metricsUrl() {
      return `${broker.baseUrl}/metrics`;
    },
    async createTopic(topic, { subscriptions }) {
      await adminClient().createTopic({ name: topic });
      for (let i = 0; i < subscriptions; i++) {
        await adminClient().createSubscription({
          subscription: { name: `${topic}-sub-${i}`, topic, start: { at: { case: "earliest", value: true } } },
        });
      }
    },
    async deleteTopic(topic) {
      const { subscriptions } = await adminClient().listSubscriptions({ topic, pageSize: 1000 });
      for (const s of subscriptions) await ignoreNotFound(adminClient().deleteSubscription({ name: s.name }));
      await ignoreNotFound(adminClient().deleteTopic({ name: topic }));
    },
    async publisher(topic) {
      const publisher = publisherOn(broker.baseUrl, topic, (close) => closers.delete(close));
      closers.add(publisher.close);
      return publisher;
    },
    async consumer(topic, subscriptionIndex) {
      const consumer = streamConsumer(broker.baseUrl, `${topic}-sub-${subscriptionIndex}`, (close) =>
        closers.delete(close),
      );
      closers.add(consumer.close);
      return consumer;
    },
    async restart() {
      await Promise.all([...closers].map((c) => c()));
      admin.close();
      await broker.stop();
      broker = await startBrokerProcess(dataDir);
      admin = connect(broker.baseUrl);
    },
    async stop() {
      await Promise.allSettled([...closers].map((c) => c()));
      admin.close();
      await broker.stop();
      removeDir(dataDir);
    },
  };
  return target;
};

/**
 * The bench's publisher: one connection ({@link connect}), one generated PublisherService client,
 * one Publish call per `publish` with a signal shared by all calls (aborted by `close()`, which
 * then drops the connection and calls `onClosed(close)`). bench/tools/client-cost.ts uses the
 * same one against other servers.
 */
export function publisherOn(
  baseUrl: string,
  topic: string,
  onClosed: (close: () => Promise<void>) => void = () => {},
  protocol: SwitchyardProtocol = switchyardProtocol(),
): BenchPublisher {
  const conn = connect(baseUrl, protocol);
  const client = createClient(PublisherService, conn.transport);
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per call in flight (256)
  const close = async () => {
    onClosed(close);
    abort.abort();
    conn.close();
  };
  return {
    async publish(payloads) {
      await client.publish({ topic, messages: payloads.map((data) => ({ data })) }, { signal: abort.signal });
    },
    close,
  };
}

/**
 * A consumer of `subscription`: one Subscribe stream ({@link STREAM} window); each batch goes to
 * `onMessages` and is then acked in one Ack call without waiting for the answer (at most
 * maxPendingAcks outstanding). `close()` aborts the stream, waits (bounded) for outstanding acks
 * and drops the connection; it then calls `onClosed(close)`.
 */
function streamConsumer(baseUrl: string, subscription: string, onClosed: (close: () => Promise<void>) => void) {
  const conn = connect(baseUrl);
  const client = createClient(SubscriberService, conn.transport);
  const stream = new AbortController();
  const ackCalls = new AbortController();
  setMaxListeners(0, stream.signal, ackCalls.signal);
  const acks = new Set<Promise<void>>();
  let reading: Promise<void> | undefined;

  const ack = (ackIds: string[]) => {
    const p: Promise<void> = client
      .ack({ subscription, ackIds }, { signal: ackCalls.signal })
      .then(
        () => undefined,
        (e: unknown) => {
          if (!ackCalls.signal.aborted) process.stderr.write(`switchyard ack ${subscription}: ${String(e)}\n`);
        },
      )
      .finally(() => acks.delete(p));
    acks.add(p);
  };

  const read = async (onMessages: (m: readonly ReceivedBenchMessage[]) => void | Promise<void>) => {
    try {
      const responses = client.subscribe(
        {
          subscription,
          maxOutstandingMessages: STREAM.maxOutstandingMessages,
          maxOutstandingBytes: BigInt(STREAM.maxOutstandingBytes),
        },
        { signal: stream.signal },
      );
      for await (const { messages } of responses) {
        if (messages.length === 0) continue;
        await onMessages(messages.map((m) => ({ data: m.message?.data ?? new Uint8Array() })));
        while (acks.size >= STREAM.maxPendingAcks) await Promise.race(acks);
        ack(messages.map((m) => m.ackId));
      }
    } catch (e) {
      if (!stream.signal.aborted) process.stderr.write(`switchyard subscribe ${subscription}: ${String(e)}\n`);
    }
  };

  const close = async () => {
    // Breaking out of for-await does not cancel a connect stream: abort its signal.
    stream.abort();
    // A handler that never returns (a stalled consumer) must not hold close up.
    await Promise.race([reading ?? Promise.resolve(), sleepMs(2000)]);
    await Promise.race([Promise.allSettled([...acks]), sleepMs(2000)]);
    ackCalls.abort();
    conn.close();
    onClosed(close);
  };
  const consumer: BenchConsumer = {
    async start(onMessages) {
      reading = read(onMessages);
    },
    close,
  };
  return consumer;
}
