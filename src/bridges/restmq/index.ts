import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../../util/index.js";
import type { BridgeMetrics, BrokerClients } from "../bridge.js";
import { createAccessControl, type RestmqAuth } from "./access.js";
import { BRIDGE, hostRules, type RestmqContext, type RestmqOptions, resolveRestmqOptions } from "./context.js";
import type { Request, Response } from "./http-io.js";
import { Presence } from "./live/presence.js";
import { pyJson } from "./py-json.js";
import { redisValue } from "./py-number.js";
import { createQueueDirectory } from "./queue-directory.js";
import { QueueLocks } from "./queue-locks.js";
import { elementOf, queueLengths } from "./queue-ops.js";
import { serve } from "./routes.js";
import { createSettingsStore } from "./settings.js";
import { createWebsocketUpgrade } from "./websocket-upgrade.js";

/** What the RestMQ bridge needs from the server. */
export interface RestmqBridgeDeps {
  /** The bridge's own clients (requests use their user's clients once auth is on). */
  clients: BrokerClients;
  logger: Logger;
  metrics: BridgeMetrics;
  /** Aborted when the server shuts down. */
  shutdownSignal: AbortSignal;
  /** The broker's users and `clientsAs`; absent: auth is off (every request uses `clients`). */
  auth?: RestmqAuth;
}

/** The RestMQ bridge: request and upgrade handlers for an HTTP listener, and its close. */
export interface RestmqBridge {
  /** Serves one HTTP request (HTTP/1.1 or h2c). */
  handle(req: Request, res: Response): void;
  /** Serves an HTTP/1.1 upgrade request (websocket consumers on `/ws/<queue>`). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Live consumers (comet and websocket) now. */
  liveConsumers(): number;
  /**
   * Ends every live consumer (comet streams end, websockets close with 1001) and waits up to
   * `timeoutMs` for the dispatchers to give back what they hold.
   */
  close(timeoutMs: number): Promise<void>;
}

/**
 * The RestMQ bridge (docs/restmq.md): RestMQ's HTTP dialect, its JSON protocol and its comet and
 * websocket live consumers on the broker's Protobuf services. It holds no queue state: elements
 * are messages of the queue's topic; policies and start/stop live in the settings topic; only
 * live connections are its own. docs/restmq.md describes the mapping.
 */
export function createRestmqBridge(deps: RestmqBridgeDeps, options: RestmqOptions = {}): RestmqBridge {
  const o = resolveRestmqOptions(options);
  const settings = createSettingsStore(
    deps.clients,
    o.settingsTopic,
    {
      maxQueues: o.maxSettingsQueues,
      maxBytes: o.maxSettingsBytes,
      existingQueues: async () => new Set((await queueLengths(deps.clients)).keys()),
    },
    deps.logger,
  );
  const directory = createQueueDirectory(deps.clients);
  const locks = new QueueLocks();
  const value = o.numericValues === "number" ? redisValue : (text: string) => text;
  const presence = new Presence(
    {
      clients: deps.clients,
      settings,
      locks,
      logger: deps.logger,
      shutdownSignal: deps.shutdownSignal,
      render(queue, message) {
        const e = elementOf(queue, message);
        // RestMQ's live line is {"key": …, "value": …} in that order.
        return { key: e.key, json: pyJson({ key: e.key, value: value(e.value) }) };
      },
      batch: o.dispatchBatch,
      pullWaitMs: o.pullWaitMs,
      leaseMs: o.dispatchLeaseMs,
    },
    { maxConsumers: o.maxLiveConsumers, accessRecheckMs: o.accessRecheckMs },
  );
  directory.onCreated((queue) => presence.queueCreated(queue));
  const ctx: RestmqContext = {
    clients: deps.clients,
    logger: deps.logger,
    metrics: deps.metrics,
    options: o,
    access: createAccessControl(deps.clients, hostRules(o), deps.auth, deps.logger),
    directory,
    settings,
    presence,
    locks,
    shutdownSignal: deps.shutdownSignal,
    value,
    maxBodyBytes: 3 * o.maxMessageBytes + 64 * 1024,
  };
  // Loaded at start so the first request does not wait; a failure is retried by the next request.
  settings.ready().catch((e: unknown) => deps.logger.warn("restmq: settings not loaded yet", { error: e }));
  const upgrade = createWebsocketUpgrade(ctx);
  return {
    handle(req, res) {
      serve(ctx, req, res).catch((e: unknown) => {
        deps.logger.error("restmq: request failed", { error: e });
        res.destroy();
      });
    },
    handleUpgrade: upgrade,
    liveConsumers: () => presence.size(),
    close: (timeoutMs) => presence.closeAll(timeoutMs),
  };
}

export type { RestmqAuth, RestmqAuthenticator } from "./access.js";
export type { NumericValues, RestmqOptions } from "./context.js";
export { BRIDGE };
