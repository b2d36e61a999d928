import { Counter, Gauge, type Registry } from "prom-client";
import type { BridgeMetrics } from "../../bridges/bridge.js";

/**
 * Bridge counters on prom-client: per bridge, open connections (gauge), connections accepted,
 * commands by name and errors by command (counters). Command names are a bounded set: bridges
 * report unknown ones as `unknown`.
 */
export function createBridgeMetrics(registry: Registry): BridgeMetrics {
  const registers = [registry];
  const open = new Gauge({
    name: "switchyard_bridge_connections",
    help: "Open client connections per bridge.",
    labelNames: ["bridge"] as const,
    registers,
  });
  const accepted = new Counter({
    // Not switchyard_bridge_connections_total: under OpenMetrics that counter's family would be
    // named switchyard_bridge_connections, the gauge above.
    name: "switchyard_bridge_connections_accepted_total",
    help: "Client connections accepted per bridge.",
    labelNames: ["bridge"] as const,
    registers,
  });
  const commands = new Counter({
    name: "switchyard_bridge_commands_total",
    help: "Commands executed per bridge and command name.",
    labelNames: ["bridge", "command"] as const,
    registers,
  });
  const errors = new Counter({
    name: "switchyard_bridge_errors_total",
    help: "Error replies and failed connections per bridge and command name.",
    labelNames: ["bridge", "command"] as const,
    registers,
  });
  // Children are looked up once per (bridge, command): counting is on every command's path.
  const cached = (c: Counter<"bridge" | "command">) => {
    const children = new Map<string, { inc(value?: number): void }>();
    return (bridge: string, command: string, count = 1) => {
      const key = `${bridge}\n${command}`;
      let child = children.get(key);
      if (!child) {
        child = c.labels({ bridge, command });
        children.set(key, child);
      }
      child.inc(count);
    };
  };
  const countCommand = cached(commands);
  const countError = cached(errors);
  return {
    connection(bridge, delta) {
      open.inc({ bridge }, delta);
      if (delta > 0) accepted.inc({ bridge });
    },
    command: countCommand,
    error: countError,
  };
}
