import type { BridgeMetrics } from "../bridges/bridge.js";

/** Bridge counters kept by the server and rendered on `/metrics`. */
export interface BridgeMetricsRegistry extends BridgeMetrics {
  /** Prometheus text (exposition format 0.0.4) of every bridge counter and gauge. */
  render(): string;
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const key = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",");

/**
 * Creates the registry: per bridge, open connections (gauge), connections accepted, commands by
 * name and errors by command (counters; rates come from `rate()` in Prometheus). Command names
 * are a bounded set: bridges report unknown ones as `unknown`.
 */
export function createBridgeMetrics(): BridgeMetricsRegistry {
  const open = new Map<string, number>();
  const accepted = new Map<string, number>();
  const commands = new Map<string, number>();
  const errors = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, d = 1) => m.set(k, (m.get(k) ?? 0) + d);
  // Label strings are built once per (bridge, command): counting is on every command's path.
  const labelCache = new Map<string, Map<string, string>>();
  const commandKey = (bridge: string, command: string): string => {
    let byCommand = labelCache.get(bridge);
    if (!byCommand) {
      byCommand = new Map();
      labelCache.set(bridge, byCommand);
    }
    let k = byCommand.get(command);
    if (k === undefined) {
      k = key({ bridge, command });
      byCommand.set(command, k);
    }
    return k;
  };
  const family = (name: string, type: "gauge" | "counter", help: string, samples: Map<string, number>) => {
    let out = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const [labels, value] of [...samples].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out += `${name}{${labels}} ${value}\n`;
    }
    return out;
  };
  return {
    connection(bridge, delta) {
      add(open, key({ bridge }), delta);
      if (delta > 0) add(accepted, key({ bridge }));
    },
    command: (bridge, command) => add(commands, commandKey(bridge, command)),
    error: (bridge, command) => add(errors, commandKey(bridge, command)),
    render: () =>
      family("switchyard_bridge_connections", "gauge", "Open client connections per bridge.", open) +
      family("switchyard_bridge_connections_total", "counter", "Client connections accepted per bridge.", accepted) +
      family(
        "switchyard_bridge_commands_total",
        "counter",
        "Commands executed per bridge and command name.",
        commands,
      ) +
      family(
        "switchyard_bridge_errors_total",
        "counter",
        "Error replies and failed connections per bridge and command name.",
        errors,
      ),
  };
}
