/**
 * What a benchmark workload drives: one broker, reached from the client process. Switchyard and
 * each peer (Redis Streams, RabbitMQ, NATS JetStream) implement it, so every workload runs
 * unchanged against all of them and ratios come from the same run.
 */

/** A message as a consumer sees it. */
export interface ReceivedBenchMessage {
  /** The payload as published (the workloads embed send timestamps in it). */
  data: Uint8Array;
}

/** A publishing connection. */
export interface BenchPublisher {
  /**
   * Publishes `payloads` as one call (a batch of 1 for single-message workloads) and resolves
   * when the broker has confirmed every one of them per `BenchTarget.ackMeaning`.
   */
  publish(payloads: readonly Uint8Array[]): Promise<void>;
  close(): Promise<void>;
}

/** A consuming connection on one subscription (queue / consumer group / durable consumer). */
export interface BenchConsumer {
  /**
   * Starts delivering: `onMessages` is called with each batch received; the consumer acks the
   * batch once the returned promise resolves (batched acks). Resolves when the consumer is
   * subscribed (from then on, no published message may be missed).
   */
  start(onMessages: (messages: readonly ReceivedBenchMessage[]) => void | Promise<void>): Promise<void>;
  /** Stops delivering and releases the connection. */
  close(): Promise<void>;
}

/** Options of {@link BenchTarget.createTopic}. */
export interface BenchTopicOptions {
  /** Subscriptions (consumer groups) to create; each sees every message (fan-out). */
  subscriptions: number;
}

/** One broker under test. */
export interface BenchTarget {
  /** Short name for tables: "switchyard", "redis-always", "redis-everysec", "rabbitmq", "nats". */
  readonly name: string;
  /** What a publish confirmation means, in one line (e.g. "committed and fsynced"). */
  readonly ackMeaning: string;
  /** Creates a topic with `subscriptions` subscriptions named `${topic}-sub-${i}` (i from 0). */
  createTopic(topic: string, options: BenchTopicOptions): Promise<void>;
  /** Deletes the topic and its subscriptions (between workloads). */
  deleteTopic(topic: string): Promise<void>;
  publisher(topic: string): Promise<BenchPublisher>;
  consumer(topic: string, subscriptionIndex: number): Promise<BenchConsumer>;
  /** Pid of the broker process, for CPU and RSS sampling (may change after {@link restart}). */
  readonly brokerPid: number;
  /** Optional: the broker's Prometheus metrics URL (may change after {@link restart}). */
  readonly metricsUrl?: string;
  /**
   * Optional: stops the broker process and starts it again on the same data (the backlog workload
   * measures drain time after a restart). Clients opened before must be closed first; open new ones
   * after. A target without it gets the backlog drained without a restart, and the report says so.
   */
  restart?(): Promise<void>;
  /** Stops the broker and removes its data. */
  stop(): Promise<void>;
}

/** Starts a broker on loopback with data under `dataDir` and returns a target for it. */
export type StartTarget = (dataDir: string) => Promise<BenchTarget>;
