/**
 * NATS JetStream peer: a topic is a file-storage stream (limits retention, one replica) on the
 * subjects `<topic>.>`, a subscription is a durable pull consumer with explicit acks, a publish
 * is `js.publish` to `<topic>.m` (a batch is concurrent publishes awaited together, confirmed by
 * the PubAcks), and a consumer pulls with `consume` (up to 1000 outstanding) and acks every
 * message of a batch after the workload has handled it. The server is our own `nats-server -js`
 * on a free loopback port with its store under the data dir.
 *
 * nats-server 2.9.10 has no `sync_interval` option (its config parser rejects it), so there is
 * no fsync-per-publish variant: a PubAck means the message was written to the block file (a
 * pwrite, so in the OS page cache; checked with strace), not fsynced.
 */

import { join } from "node:path";
import { AckPolicy, connect, DeliverPolicy, type JsMsg, type NatsConnection, RetentionPolicy, StorageType } from "nats";
import { DeliveryBatcher } from "../peers/batcher.js";
import {
  canConnect,
  freePort,
  makePeerDir,
  type PeerProcess,
  removePeerDir,
  requireBinary,
  spawnPeer,
  waitUntil,
  withTimeout,
} from "../peers/process.js";
import type { BenchConsumer, BenchPublisher, BenchTarget, StartTarget } from "./target.js";

const PEER = "nats";
const PULL_BATCH = 1000;
const PUBLISH_TIMEOUT_MS = 30_000;

/** JetStream names may not contain `.`, `*`, `>` or whitespace; keep it to a safe alphabet. */
function jsName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Starts a JetStream server (file store, default sync: no fsync per publish). */
export const startNats: StartTarget = async (dataDir) => {
  const binary = await requireBinary(PEER, "nats-server");
  const dir = await makePeerDir(dataDir, PEER);
  const port = await freePort();
  const connections = new Set<NatsConnection>();
  const open = async (name: string): Promise<NatsConnection> => {
    const nc = await withTimeout(
      connect({ servers: `127.0.0.1:${port}`, name, reconnect: false, timeout: 5_000 }),
      10_000,
      `${PEER}: connect`,
      (late) => void late.close(),
    );
    connections.add(nc);
    void nc.closed().then(() => connections.delete(nc));
    return nc;
  };
  const release = async (nc: NatsConnection): Promise<void> => {
    if (!connections.delete(nc)) return;
    await withTimeout(nc.close(), 5_000, `${PEER}: close`).catch(() => undefined);
  };

  let server: PeerProcess | undefined;
  let admin: NatsConnection | undefined;
  try {
    server = await spawnPeer({
      peer: PEER,
      command: binary,
      args: ["-js", "-sd", join(dir, "jetstream"), "-a", "127.0.0.1", "-p", String(port), "-n", `bench-${port}`],
      cwd: dir,
      logFile: join(dir, "nats-server.log"),
    });
    await waitUntil(PEER, server, 15_000, async () => {
      if (!(await canConnect(port))) return false;
      const probe = await open("bench-probe");
      try {
        await (await probe.jetstreamManager()).getAccountInfo();
        return true;
      } finally {
        await release(probe);
      }
    });
    admin = await open("bench-admin");
    return await natsTarget(server, dir, admin, open, release, connections);
  } catch (error) {
    for (const nc of [...connections]) await release(nc);
    await server?.stop().catch(() => undefined);
    await removePeerDir(dir);
    throw new Error(`${PEER}: failed to start: ${errorText(error)}`, { cause: error });
  }
};

async function natsTarget(
  server: PeerProcess,
  dir: string,
  admin: NatsConnection,
  open: (name: string) => Promise<NatsConnection>,
  release: (nc: NatsConnection) => Promise<void>,
  connections: Set<NatsConnection>,
): Promise<BenchTarget> {
  const jsm = await admin.jetstreamManager();
  const closers = new Set<() => Promise<void>>();
  let stopped = false;

  return {
    name: PEER,
    ackMeaning:
      "written to the stream's file store (OS page cache, replica 1) before the PubAck, not fsynced: 2.9.10 fsyncs every 2 min (no sync_interval option)",
    brokerPid: server.pid,

    async createTopic(topic, { subscriptions }) {
      const stream = jsName(topic);
      await jsm.streams.add({
        name: stream,
        subjects: [`${stream}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        num_replicas: 1,
      });
      for (let i = 0; i < subscriptions; i++) {
        await jsm.consumers.add(stream, {
          durable_name: jsName(`${topic}-sub-${i}`),
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          max_ack_pending: PULL_BATCH,
        });
      }
    },

    async deleteTopic(topic) {
      await jsm.streams.delete(jsName(topic));
    },

    async publisher(topic): Promise<BenchPublisher> {
      const nc = await open("bench-publisher");
      const js = nc.jetstream({ timeout: PUBLISH_TIMEOUT_MS });
      const subject = `${jsName(topic)}.m`;
      return {
        async publish(payloads) {
          await Promise.all(payloads.map((payload) => js.publish(subject, payload)));
        },
        async close() {
          await release(nc);
        },
      };
    },

    async consumer(topic, subscriptionIndex): Promise<BenchConsumer> {
      const durable = jsName(`${topic}-sub-${subscriptionIndex}`);
      const nc = await open(`bench-consumer-${durable}`);
      const consumer = await nc.jetstream().consumers.get(jsName(topic), durable);
      let messages: Awaited<ReturnType<typeof consumer.consume>> | undefined;
      let batcher: DeliveryBatcher<JsMsg> | undefined;
      let pump: Promise<void> | undefined;
      let closed = false;

      const close = async () => {
        if (closed) return;
        closed = true;
        closers.delete(close);
        await messages?.close();
        await withTimeout(pump ?? Promise.resolve(), 10_000, `${PEER}: consumer stop`).catch(() => undefined);
        await batcher?.stop();
        await release(nc);
        if (batcher?.error) throw batcher.error;
      };
      closers.add(close);

      return {
        async start(onMessages) {
          if (batcher !== undefined) throw new Error(`${PEER}: consumer already started`);
          const active = new DeliveryBatcher<JsMsg>(
            `${PEER} consumer ${durable}`,
            async (batch) => {
              await onMessages(batch.map((message) => ({ data: message.data })));
              if (!closed) for (const message of batch) message.ack();
            },
            PULL_BATCH,
          );
          batcher = active;
          const iterator = await consumer.consume({ max_messages: PULL_BATCH });
          messages = iterator;
          pump = (async () => {
            for await (const message of iterator) active.push(message);
          })().catch((error: unknown) => {
            if (!closed) console.error(`${PEER}: consumer ${durable} stopped: ${errorText(error)}`);
          });
        },
        close,
      };
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      for (const close of [...closers]) await close().catch(() => undefined);
      for (const nc of [...connections]) await release(nc);
      try {
        await server.stop(15_000);
      } finally {
        await removePeerDir(dir);
      }
    },
  };
}
