/**
 * RabbitMQ peer: a topic is a durable fanout exchange, a subscription is a durable quorum queue
 * bound to it (even with one subscription), a publish goes through a confirm channel as
 * persistent messages (confirmed by the broker's publisher confirms), and a consumer uses
 * basic.consume with prefetch 1000 and one multiple-ack per batch. The node is our own
 * rabbitmq-server (no plugins) with its own epmd, node name, ports, cookie and config, all under
 * the data dir, so it never touches a system instance.
 */

import type { ChannelModel, ConsumeMessage } from "amqplib";
import { DeliveryBatcher } from "../peers/batcher.js";
import { type RabbitNode, startRabbitNode } from "../peers/rabbitmq-node.js";
import type { BenchConsumer, BenchPublisher, BenchTarget, StartTarget } from "./target.js";

const PREFETCH = 1000;

/** Starts a single-node RabbitMQ; topics are fanout exchanges feeding quorum queues. */
export const startRabbitMq: StartTarget = async (dataDir) => {
  const node = await startRabbitNode(dataDir);
  try {
    return await rabbitTarget(node);
  } catch (error) {
    await node.stop().catch(() => undefined);
    throw error;
  }
};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function rabbitTarget(node: RabbitNode): Promise<BenchTarget> {
  const connections = new Set<ChannelModel>();
  const closers = new Set<() => Promise<void>>();
  const subscriptionCounts = new Map<string, number>();

  const open = async (): Promise<ChannelModel> => {
    const connection = await node.connect();
    connection.on("error", () => {
      // surfaced by the failing operation; avoids unhandled 'error' events
    });
    connections.add(connection);
    connection.once("close", () => connections.delete(connection));
    return connection;
  };
  const release = async (connection: ChannelModel): Promise<void> => {
    if (!connections.delete(connection)) return;
    await connection.close().catch(() => undefined);
  };
  const admin = await open();
  const withChannel = async <T>(work: (channel: Awaited<ReturnType<ChannelModel["createChannel"]>>) => Promise<T>) => {
    const channel = await admin.createChannel();
    channel.on("error", () => undefined);
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  };
  let stopped = false;

  return {
    name: "rabbitmq",
    ackMeaning: "quorum queue: confirmed after a Raft majority (1 node) wrote it to its log and fsynced",
    brokerPid: node.beamPid,

    async createTopic(topic, { subscriptions }) {
      await withChannel(async (channel) => {
        await channel.assertExchange(topic, "fanout", { durable: true, autoDelete: false });
        for (let i = 0; i < subscriptions; i++) {
          const queue = `${topic}-sub-${i}`;
          await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
          await channel.bindQueue(queue, topic, "");
        }
      });
      subscriptionCounts.set(topic, subscriptions);
    },

    async deleteTopic(topic) {
      const subscriptions = subscriptionCounts.get(topic) ?? 0;
      await withChannel(async (channel) => {
        for (let i = 0; i < subscriptions; i++) await channel.deleteQueue(`${topic}-sub-${i}`);
        await channel.deleteExchange(topic);
      });
      subscriptionCounts.delete(topic);
    },

    async publisher(topic): Promise<BenchPublisher> {
      const connection = await open();
      const channel = await connection.createConfirmChannel();
      channel.on("error", () => undefined);
      const publishOne = (payload: Uint8Array) =>
        new Promise<void>((resolve, reject) => {
          const content = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
          try {
            channel.publish(topic, "", content, { persistent: true }, (error: unknown) => {
              if (error) reject(new Error(`rabbitmq: publish not confirmed: ${errorText(error)}`));
              else resolve();
            });
          } catch (error) {
            reject(new Error(`rabbitmq: publish failed: ${errorText(error)}`));
          }
        });
      return {
        async publish(payloads) {
          await Promise.all(payloads.map(publishOne));
        },
        async close() {
          await release(connection);
        },
      };
    },

    async consumer(topic, subscriptionIndex): Promise<BenchConsumer> {
      const queue = `${topic}-sub-${subscriptionIndex}`;
      const connection = await open();
      const channel = await connection.createChannel();
      channel.on("error", () => undefined);
      await channel.prefetch(PREFETCH);
      let consumerTag: string | undefined;
      let batcher: DeliveryBatcher<ConsumeMessage> | undefined;
      let closed = false;

      const close = async () => {
        if (closed) return;
        closed = true;
        closers.delete(close);
        if (consumerTag !== undefined) await channel.cancel(consumerTag).catch(() => undefined);
        await batcher?.stop();
        await release(connection);
        if (batcher?.error) throw batcher.error;
      };
      closers.add(close);

      return {
        async start(onMessages) {
          if (batcher !== undefined) throw new Error("rabbitmq: consumer already started");
          const active = new DeliveryBatcher<ConsumeMessage>(
            `rabbitmq consumer ${queue}`,
            async (messages) => {
              await onMessages(messages.map((message) => ({ data: message.content })));
              if (!closed) channel.ack(messages[messages.length - 1]!, true);
            },
            PREFETCH,
          );
          batcher = active;
          const reply = await channel.consume(
            queue,
            (message) => {
              if (message !== null) active.push(message);
            },
            { noAck: false },
          );
          consumerTag = reply.consumerTag;
        },
        close,
      };
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      for (const close of [...closers]) await close().catch(() => undefined);
      for (const connection of [...connections]) await release(connection);
      await node.stop();
    },
  };
}
