/**
 * A gate for a log line that something outside the broker can cause at will (accept errors, client
 * resets): a line may go out at most once per `intervalMs`. Each call asks whether a line is due
 * now; the answer is the number of calls the gate held back since the last line it let through,
 * or undefined while the interval runs (this call is then held back and counted).
 */
export function createLogGate(
  intervalMs: number,
  nowMs: () => number = () => performance.now(),
): () => number | undefined {
  let lastMs = Number.NEGATIVE_INFINITY;
  let heldBack = 0;
  return () => {
    const t = nowMs();
    if (t - lastMs < intervalMs) {
      heldBack++;
      return undefined;
    }
    lastMs = t;
    const n = heldBack;
    heldBack = 0;
    return n;
  };
}
