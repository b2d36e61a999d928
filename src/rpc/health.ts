import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { linkSignals } from "../util/index.js";
import { abortReasonToConnectError } from "./reflection.js";

/** Options of {@link registerHealth}. */
export interface HealthOptions {
  /**
   * Aborted when the server begins to shut down. From then on every service reports
   * NOT_SERVING, and Watch streams send NOT_SERVING and end with UNAVAILABLE.
   */
  shutdownSignal: AbortSignal;
  /**
   * Fully qualified names of the services that report a status of their own besides the
   * server as a whole (`""`). Others are unknown: Check fails with NOT_FOUND and Watch sends
   * SERVICE_UNKNOWN, as the gRPC health protocol specifies.
   */
  services: readonly string[];
  /**
   * True when a service (or the server, `""`) does not serve for a reason of its own (the store
   * failed, or publishes are refused for want of disk space). Default: never.
   */
  notServing?: (service: string) => boolean;
  /**
   * Subscribes to changes of `notServing` (Watch streams then send each new status). Returns the
   * unsubscribe. Default: `notServing` never changes.
   */
  onChange?: (listener: () => void) => () => void;
}

/**
 * Registers `grpc.health.v1.Health` (Check and Watch) following the gRPC health checking
 * protocol (grpc/grpc doc/health-checking.md). The empty service name means the whole server.
 */
export function registerHealth(router: ConnectRouter, options: HealthOptions): void {
  const known = new Set(["", ...options.services]);
  const { shutdownSignal, notServing = () => false } = options;
  const status = (service: string): Status => {
    if (!known.has(service)) return Status.SERVICE_UNKNOWN;
    return shutdownSignal.aborted || notServing(service) ? Status.NOT_SERVING : Status.SERVING;
  };
  router.service(Health, {
    check(request) {
      if (!known.has(request.service)) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: status(request.service) };
    },
    async *watch(request, ctx) {
      // Each status change is sent once: NOT_SERVING and back as `notServing` changes (the store
      // failed, disk space ran low and returned), and NOT_SERVING at shutdown. The stream ends
      // when the call's signal aborts (client gone, deadline) or at shutdown.
      // Listening starts before the first answer, and a change while an answer is being written
      // marks the status to be read again, so no change is missed.
      const link = linkSignals(ctx.signal, shutdownSignal);
      let wake: (() => void) | undefined;
      let dirty = false;
      const poke = () => {
        dirty = true;
        wake?.();
      };
      const unsubscribe = options.onChange?.(poke) ?? (() => {});
      link.signal.addEventListener("abort", poke, { once: true });
      let sent = status(request.service);
      try {
        yield { status: sent };
        while (!link.signal.aborted) {
          dirty = false;
          const now = status(request.service);
          if (now !== sent) {
            sent = now;
            yield { status: now };
            continue;
          }
          if (!dirty) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
          wake = undefined;
        }
      } finally {
        link.signal.removeEventListener("abort", poke);
        unsubscribe();
        link.dispose();
      }
      if (shutdownSignal.aborted) {
        if (sent !== Status.NOT_SERVING) yield { status: Status.NOT_SERVING };
        throw new ConnectError("the server is shutting down", Code.Unavailable);
      }
      throw abortReasonToConnectError(ctx.signal.reason);
    },
  });
}
