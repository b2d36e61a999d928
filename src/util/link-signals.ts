/** A signal that aborts when any of its sources does, and lets go of them on `dispose`. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Removes the listeners from the sources; call when the operation ends (in `finally`). */
  dispose(): void;
}

/**
 * Links abort signals like `AbortSignal.any`, with an explicit end. `AbortSignal.any` on Node 20
 * leaves a reference on each source signal for every call that it never removes (nodejs/node
 * #55351), so linking each call to a long-lived signal (the broker's shutdown, a connection's
 * close) grows memory with every call. Here the listeners go away in `dispose`.
 */
export function linkSignals(...sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const aborted = sources.find((s) => s.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, dispose() {} };
  }
  const listeners = sources.map((source) => {
    const onAbort = () => {
      controller.abort(source.reason);
      dispose();
    };
    source.addEventListener("abort", onAbort, { once: true });
    return [source, onAbort] as const;
  });
  function dispose(): void {
    for (const [source, onAbort] of listeners) source.removeEventListener("abort", onAbort);
  }
  return { signal: controller.signal, dispose };
}
