/**
 * Redis Streams peer: a topic is a stream, a subscription is a consumer group (created at `$`
 * with MKSTREAM), a publish is XADD (a batch is one pipeline of XADDs, confirmed by the replies),
 * and a consumer loops XREADGROUP COUNT 1000 BLOCK on its own connection and XACKs each batch.
 * The server is our own `redis-server` on a free loopback port with its AOF under the data dir,
 * in one of two fsync modes.
 */

import { join } from "node:path";
import { Redis } from "ioredis";
import {
  canConnect,
  freePort,
  makePeerDir,
  type PeerProcess,
  removePeerDir,
  requireBinary,
  spawnPeer,
  waitUntil,
} from "../peers/process.js";
import type { BenchConsumer, BenchPublisher, BenchTarget, ReceivedBenchMessage, StartTarget } from "./target.js";

type AppendFsync = "always" | "everysec";

const ACK_MEANING: Record<AppendFsync, string> = {
  always: "written to the AOF and fsynced before the reply (group commit per event loop)",
  everysec: "written to the AOF; fsync once per second (up to 1 s of loss)",
};

const READ_COUNT = 1000;
const BLOCK_MS = 1000;

/** Starts Redis with `appendfsync always`: a reply means the entry is in the AOF and fsynced. */
export const startRedisAlways: StartTarget = (dataDir) => startRedis(dataDir, "always");

/** Starts Redis with `appendfsync everysec`: the AOF is fsynced once per second. */
export const startRedisEverysec: StartTarget = (dataDir) => startRedis(dataDir, "everysec");

function toBuffer(payload: Uint8Array): Buffer {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function startRedis(dataDir: string, fsync: AppendFsync): Promise<BenchTarget> {
  const name = `redis-${fsync}`;
  const binary = await requireBinary(name, "redis-server");
  const dir = await makePeerDir(dataDir, name);
  const port = await freePort();
  let proc: PeerProcess | undefined;
  const clients = new Set<Redis>();
  const closers = new Set<() => Promise<void>>();

  const connect = async (connectionName: string): Promise<Redis> => {
    const client = new Redis({
      host: "127.0.0.1",
      port,
      protocol: 2,
      lazyConnect: true,
      connectTimeout: 5_000,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectionName,
    });
    client.on("error", () => {
      // surfaced by the failing command; avoids unhandled 'error' events
    });
    await client.connect();
    clients.add(client);
    return client;
  };
  const release = (client: Redis): void => {
    clients.delete(client);
    client.disconnect();
  };

  try {
    proc = await spawnPeer({
      peer: name,
      command: binary,
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
        "--supervised",
        "no",
        "--dir",
        dir,
        "--appendonly",
        "yes",
        "--appendfsync",
        fsync,
        "--save",
        "",
        "--logfile",
        "",
      ],
      cwd: dir,
      logFile: join(dir, "redis.log"),
    });
    const started = proc;
    await waitUntil(name, started, 15_000, async () => {
      if (!(await canConnect(port))) return false;
      const probe = await connect("bench-probe");
      try {
        return (await probe.ping()) === "PONG";
      } finally {
        release(probe);
      }
    });
  } catch (error) {
    await proc?.stop().catch(() => undefined);
    await removePeerDir(dir);
    throw new Error(`${name}: failed to start: ${errorText(error)}`, { cause: error });
  }
  const server = proc;
  const admin = await connect("bench-admin");
  let stopped = false;
  let consumerCount = 0;

  return {
    name,
    ackMeaning: ACK_MEANING[fsync],
    brokerPid: server.pid,

    async createTopic(topic, { subscriptions }) {
      for (let i = 0; i < subscriptions; i++) {
        await admin.xgroup("CREATE", topic, `${topic}-sub-${i}`, "$", "MKSTREAM");
      }
    },

    async deleteTopic(topic) {
      await admin.del(topic);
    },

    async publisher(topic): Promise<BenchPublisher> {
      const client = await connect("bench-publisher");
      return {
        async publish(payloads) {
          if (payloads.length === 1) {
            await client.xadd(topic, "*", "d", toBuffer(payloads[0]!));
            return;
          }
          const pipeline = client.pipeline();
          for (const payload of payloads) pipeline.xadd(topic, "*", "d", toBuffer(payload));
          const results = await pipeline.exec();
          if (results === null) throw new Error(`${name}: pipeline discarded`);
          for (const [error] of results) if (error) throw new Error(`${name}: XADD failed: ${error.message}`);
        },
        async close() {
          release(client);
        },
      };
    },

    async consumer(topic, subscriptionIndex): Promise<BenchConsumer> {
      const group = `${topic}-sub-${subscriptionIndex}`;
      const consumerName = `c${++consumerCount}`;
      const client = await connect(`bench-consumer-${consumerName}`);
      let closed = false;
      let loop: Promise<void> | undefined;
      let failure: Error | undefined;

      const readLoop = async (onMessages: (messages: readonly ReceivedBenchMessage[]) => void | Promise<void>) => {
        while (!closed) {
          const reply = await client.callBuffer("XREADGROUP", [
            "GROUP",
            group,
            consumerName,
            "COUNT",
            READ_COUNT,
            "BLOCK",
            BLOCK_MS,
            "STREAMS",
            topic,
            ">",
          ]);
          if (closed) return;
          if (reply === null) continue;
          const ids: Buffer[] = [];
          const messages: ReceivedBenchMessage[] = [];
          for (const [, entries] of reply as [Buffer, [Buffer, Buffer[] | null][]][]) {
            for (const [id, fields] of entries) {
              ids.push(id);
              if (fields !== null && fields.length >= 2) messages.push({ data: fields[1]! });
            }
          }
          if (messages.length > 0) await onMessages(messages);
          if (ids.length > 0) await client.xack(topic, group, ...ids);
        }
      };

      const close = async () => {
        if (closed) return;
        closed = true;
        closers.delete(close);
        release(client);
        await loop;
        if (failure) throw failure;
      };
      closers.add(close);

      return {
        async start(onMessages) {
          if (loop !== undefined) throw new Error(`${name}: consumer already started`);
          loop = readLoop(onMessages).catch((error: unknown) => {
            if (closed) return;
            failure = new Error(`${name}: consumer ${group}/${consumerName} failed: ${errorText(error)}`, {
              cause: error,
            });
            console.error(failure.message);
          });
        },
        close,
      };
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      for (const close of [...closers]) await close().catch(() => undefined);
      for (const client of [...clients]) release(client);
      try {
        await server.stop(15_000);
      } finally {
        await removePeerDir(dir);
      }
    },
  };
}
