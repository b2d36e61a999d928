import type { Logger } from "../../util/index.js";
import type { BridgeMetrics, BrokerClients } from "../bridge.js";
import type { AccessControl, HostRules } from "./access.js";
import type { Presence } from "./live/presence.js";
import type { PyValue } from "./py-json.js";
import type { QueueDirectory } from "./queue-directory.js";
import type { QueueLocks } from "./queue-locks.js";
import type { SettingsStore } from "./settings.js";

/**
 * How values that look like numbers come back. `number` (the default) answers as RestMQ did,
 * whose Redis client turned `"42"` into `42`; `string` always answers the string that was added.
 */
export type NumericValues = "number" | "string";

/** Options of the RestMQ bridge. Every field has a default. */
export interface RestmqOptions {
  /** Largest element in bytes (the broker's message size limit). Default 1 MiB. */
  maxMessageBytes?: number;
  /** Default `number` (RestMQ's behaviour); see {@link NumericValues}. */
  numericValues?: NumericValues;
  /** Address prefixes let in (RestMQ's `hosts_allow`); empty: no allow list. */
  hostsAllow?: readonly string[];
  /** Address prefixes refused (RestMQ's `hosts_deny`); empty: no deny list. */
  hostsDeny?: readonly string[];
  /** Unflushed output a live consumer may hold before it is dropped as too slow. Default 8 MiB. */
  maxConsumerBufferBytes?: number;
  /** Below this much unflushed output a live consumer gets more elements. Default 64 KiB. */
  consumerHighWaterBytes?: number;
  /** Most live consumers (comet and websocket) at once; more are answered 503. Default 10,000. */
  maxLiveConsumers?: number;
  /** Largest frame a websocket client may send (it is echoed back). Default 64 KiB. */
  maxWebsocketFrameBytes?: number;
  /** Most elements one live dispatch takes off a queue (RestMQ: 10). Default 10. */
  dispatchBatch?: number;
  /** How long a live dispatcher waits (a long-poll Peek) for an element before it asks again. Default 30 s. */
  pullWaitMs?: number;
  /** Lease of a dispatched batch until it is written out and acked. Default 60 s. */
  dispatchLeaseMs?: number;
  /** The topic that keeps policies and start/stop (docs/restmq.md). Default `switchyard.restmq.settings`. */
  settingsTopic?: string;
  /** Most queues with a policy or start/stop record. Default 100,000. */
  maxSettingsQueues?: number;
  /** How often each live consumer's right to read its queue is checked again (auth on). Default 60 s. */
  accessRecheckMs?: number;
  /** Most bytes of policy and start/stop records in all (about 40 bytes plus the name each). Default 4 MiB. */
  maxSettingsBytes?: number;
}

/** {@link RestmqOptions} with every default filled in. */
export type ResolvedRestmqOptions = Required<RestmqOptions>;

/** Fills in the defaults of {@link RestmqOptions}. */
export function resolveRestmqOptions(o: RestmqOptions): ResolvedRestmqOptions {
  return {
    maxMessageBytes: o.maxMessageBytes ?? 1024 * 1024,
    numericValues: o.numericValues ?? "number",
    hostsAllow: o.hostsAllow ?? [],
    hostsDeny: o.hostsDeny ?? [],
    maxConsumerBufferBytes: o.maxConsumerBufferBytes ?? 8 * 1024 * 1024,
    consumerHighWaterBytes: o.consumerHighWaterBytes ?? 64 * 1024,
    maxLiveConsumers: o.maxLiveConsumers ?? 10_000,
    maxWebsocketFrameBytes: o.maxWebsocketFrameBytes ?? 64 * 1024,
    dispatchBatch: o.dispatchBatch ?? 10,
    pullWaitMs: o.pullWaitMs ?? 30_000,
    dispatchLeaseMs: o.dispatchLeaseMs ?? 60_000,
    settingsTopic: o.settingsTopic ?? "switchyard.restmq.settings",
    accessRecheckMs: o.accessRecheckMs ?? 60_000,
    maxSettingsQueues: o.maxSettingsQueues ?? 100_000,
    maxSettingsBytes: o.maxSettingsBytes ?? 4 * 1024 * 1024,
  };
}

/** The host rules of resolved options. */
export function hostRules(o: ResolvedRestmqOptions): HostRules {
  return { allow: o.hostsAllow, deny: o.hostsDeny };
}

/** What every handler of the bridge shares. */
export interface RestmqContext {
  /** The bridge's own clients (the settings topic); requests use {@link AccessControl.clientsFor}. */
  readonly clients: BrokerClients;
  readonly logger: Logger;
  readonly metrics: BridgeMetrics;
  readonly options: ResolvedRestmqOptions;
  readonly access: AccessControl;
  readonly directory: QueueDirectory;
  readonly settings: SettingsStore;
  readonly presence: Presence;
  /** One read or purge at a time per queue within the bridge (queue-locks.ts). */
  readonly locks: QueueLocks;
  /** Aborted when the server shuts down. */
  readonly shutdownSignal: AbortSignal;
  /** A stored value as RestMQ answered it (see {@link NumericValues}). */
  value(text: string): PyValue;
  /** Largest request body: an element url-encoded (three bytes per byte at worst) plus room for the other fields. */
  readonly maxBodyBytes: number;
}

/** The bridge's name in metrics and the ready line. */
export const BRIDGE = "restmq";

/**
 * What RestMQ put in `"redis"` (the `repr` of its Redis connection pool, e.g.
 * `<Redis Connection: 127.0.0.1:6379 - 10 connection(s)>`); the bridge names the broker instead.
 */
export const BACKEND_REPR = "<Switchyard broker: in-process>";
