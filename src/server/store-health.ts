import type { StoreCondition, StoreFailure } from "../store/index.js";
import type { Logger } from "../util/index.js";

/** The service whose calls the free-space floor refuses: it reports NOT_SERVING while disk is low. */
const PUBLISHER_SERVICE = "switchyard.v1.PublisherService";

/** What `/healthz` answers. */
export interface HealthzAnswer {
  status: number;
  body: string;
}

/**
 * The store's condition as health sees it, fed by the store's `onCondition`: a failed store makes
 * every service NOT_SERVING and `/healthz` 503 (and resolves {@link StoreHealth.failed}, on which
 * the process exits); free space below the floor makes the publisher service NOT_SERVING and
 * `/healthz` say so with 200, since acks and purges (what frees space) still work.
 */
export interface StoreHealth {
  /** The store's callback: logs each change (a failure once, at error level). */
  report(condition: StoreCondition): void;
  /** True when `service` ("" for the whole server) does not serve because of the store. */
  notServing(service: string): boolean;
  /** The `/healthz` answer for the store, or undefined when it is fine. */
  healthz(): HealthzAnswer | undefined;
  /** Resolves once, when the store fails. */
  readonly failed: Promise<StoreFailure>;
  /** Calls `listener` after every change of condition (health Watch streams). Returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** Creates the {@link StoreHealth} of one server. */
export function createStoreHealth(logger: Logger): StoreHealth {
  let condition: StoreCondition = { kind: "ok" };
  const listeners = new Set<() => void>();
  let resolveFailed: (f: StoreFailure) => void = () => {};
  const failed = new Promise<StoreFailure>((resolve) => {
    resolveFailed = resolve;
  });
  return {
    report(next) {
      if (condition.kind === "failed") return;
      const before = condition.kind;
      condition = next;
      if (next.kind === "failed") {
        logger.error("store failed: refusing every write and stopping; a restart resumes from what is on disk", {
          reason: next.failure.message,
          cause: next.failure.cause,
        });
        resolveFailed(next.failure);
      } else if (next.kind === "low-disk") {
        logger.warn("free disk space is below --min-free-disk: publishes are refused until space returns", {
          freeBytes: next.freeBytes,
          minFreeBytes: next.minFreeBytes,
        });
      } else if (before === "low-disk") {
        logger.info("free disk space is back above --min-free-disk: publishes resume");
      }
      if (next.kind !== before) for (const listener of listeners) listener();
    },
    notServing(service) {
      if (condition.kind === "failed") return true;
      return condition.kind === "low-disk" && service === PUBLISHER_SERVICE;
    },
    healthz() {
      if (condition.kind === "failed") return { status: 503, body: `store failed: ${condition.failure.message}\n` };
      if (condition.kind === "low-disk") {
        return {
          status: 200,
          body: `ok; low disk space: ${condition.freeBytes} bytes free, below --min-free-disk (${condition.minFreeBytes}): publishes refused\n`,
        };
      }
      return undefined;
    },
    failed,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
