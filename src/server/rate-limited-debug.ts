import { createLogGate, isDebugEnabled, type Logger } from "../util/index.js";

/**
 * A debug line that a client can cause at will (one per reset stream, one per session it closes
 * with an error code), written at most once per `intervalMs` (util/log-gate.ts): each line carries
 * `count`, how many times it was due since the last line (itself included). Nothing is counted
 * while debug lines are off.
 */
export function rateLimitedDebug(
  logger: Logger,
  message: string,
  intervalMs = 1_000,
): (fields: Record<string, unknown>) => void {
  const gate = createLogGate(intervalMs);
  return (fields) => {
    if (!isDebugEnabled(logger)) return;
    const heldBack = gate();
    if (heldBack !== undefined) logger.debug?.(message, { ...fields, count: heldBack + 1 });
  };
}
