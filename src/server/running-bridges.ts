/**
 * The bridge listeners of one server (the list in bridges.ts; README "okQ bridge (RESP)" and the
 * sections after it): creates and binds each one whose port is on, counts their connections for
 * `/metrics`, and closes them in the server's graceful shutdown.
 *
 * @module
 */
import { childLogger, type Logger } from "../util/index.js";
import type { BridgeListenerContext, RunningBridgeListener } from "./bridge-listeners.js";
import { BRIDGE_LISTENERS } from "./bridges.js";
import { formatAddress } from "./listen.js";

/** The bridge listeners a server started, in the order of {@link BRIDGE_LISTENERS}. */
export interface RunningBridges {
  /**
   * Creates and binds each bridge listener whose port is not `off`, one after the other; resolves
   * with their bound addresses (`host:port`) by key. A listener that was created stays in the set
   * even when its bind fails, so {@link close} closes it.
   */
  start(context: BridgeListenerContext, signal: AbortSignal): Promise<Record<string, string>>;
  /** Stops every listener accepting new connections. */
  stopAccepting(): void;
  /** Closes every listener (each with `graceMs` for work in flight); each failure goes to `onError`. */
  close(graceMs: number, onError: (error: unknown) => void): Promise<void>;
  /** Open connections of each listener, by key. */
  connectionsByKey(): Record<string, number>;
  /** Open connections across all of them. */
  connections(): number;
}

/** An empty set; `logger` gets a line per listener that comes up. */
export function createRunningBridges(logger: Logger): RunningBridges {
  const bridges: RunningBridgeListener[] = [];
  /** The listener key of each entry of `bridges`. */
  const keys: string[] = [];
  return {
    async start(context, signal) {
      const { config, tls } = context;
      const addresses: Record<string, string> = {};
      for (const definition of BRIDGE_LISTENERS) {
        const port = definition.port(config);
        if (port === "off") continue;
        // Each bridge logs with its name on every line (request-scoped fields: bridge, client, …).
        const bridge = definition.create({
          ...context,
          logger: childLogger(context.logger, { bridge: definition.key }),
        });
        bridges.push(bridge);
        keys.push(definition.key);
        const spec = { name: definition.key, host: config.host, port, flag: definition.flag };
        const bound = await bridge.listen(spec, signal);
        addresses[definition.key] = formatAddress(bound);
        logger.info(`${definition.key} listener up (${definition.serves})`, {
          address: addresses[definition.key],
          tls: tls ? "on" : "off",
        });
      }
      return addresses;
    },
    stopAccepting() {
      for (const bridge of bridges) bridge.stopAccepting();
    },
    async close(graceMs, onError) {
      const results = await Promise.allSettled(bridges.map((b) => b.close(graceMs)));
      for (const r of results) if (r.status === "rejected") onError(r.reason);
    },
    connectionsByKey() {
      const out: Record<string, number> = {};
      bridges.forEach((bridge, i) => {
        out[keys[i] as string] = bridge.connections();
      });
      return out;
    },
    connections: () => bridges.reduce((n, b) => n + b.connections(), 0),
  };
}
