import type { AddressInfo, Server } from "node:net";
import { createLogGate, type Logger } from "../util/index.js";

/** Which listener a port belongs to, for error messages and the ready line. */
export interface ListenerSpec {
  /** Key in the ready line, e.g. `rpc`, `okq`, `ohpq-http`. */
  name: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The flag that sets this port, e.g. `--port`. */
  flag: string;
}

/** A listener could not bind; the message names the listener, the port and the flag to change. */
export class ListenError extends Error {
  override name = "ListenError";
  /** The system error code, e.g. `EADDRINUSE`. */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Formats a bound address as `host:port` (`[::1]:7440` for IPv6). */
export function formatAddress(address: AddressInfo): string {
  return address.family === "IPv6" || address.address.includes(":")
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`;
}

function describe(spec: ListenerSpec, e: Error & { code?: string }): string {
  const where = `${spec.name} listener: port ${spec.port} on ${spec.host}`;
  switch (e.code) {
    case "EADDRINUSE":
      return `${where} is already in use (change it with ${spec.flag})`;
    case "EACCES":
      return `${where} needs privileges this process lacks (change it with ${spec.flag})`;
    case "EADDRNOTAVAIL":
      return `${spec.name} listener: address ${spec.host} is not available on this machine (change it with --host)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${spec.name} listener: cannot resolve host ${spec.host} (change it with --host)`;
    default:
      return `${where} cannot listen: ${e.message}`;
  }
}

/** How often a listener logs accept errors at most (one line, then a count of the ones left out). */
export const ACCEPT_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Keeps a listening server alive through accept errors. Once bound, a `net.Server` reports a
 * failed `accept(2)` (EMFILE or ENFILE when file descriptors run out, ENOMEM, …) as an `error`
 * event, and an `error` event without a listener kills the process. The connection that could
 * not be accepted is dropped by the kernel (libuv closes it), the server keeps listening, and new
 * connections are accepted again as soon as descriptors are free. Logged at warn, at most once
 * per {@link ACCEPT_ERROR_LOG_INTERVAL_MS}, with the number of errors not logged in between.
 */
export function surviveAcceptErrors(server: Server, name: string, logger?: Logger, now: () => number = Date.now): void {
  const gate = createLogGate(ACCEPT_ERROR_LOG_INTERVAL_MS, now);
  server.on("error", (e: Error & { code?: string }) => {
    const notLogged = gate();
    if (notLogged === undefined) return;
    logger?.warn(`${name} listener: accepting a connection failed; still listening`, {
      code: e.code,
      error: e.message,
      notLogged,
    });
  });
}

/**
 * Binds `server` as described by `spec` and resolves with the bound address. Binding errors
 * become a {@link ListenError}; `signal` (or `timeoutMs`, default 10 s) bounds the wait. Once
 * bound, accept errors are logged to `logger` and survived (see {@link surviveAcceptErrors}).
 */
export function listenOn(
  server: Server,
  spec: ListenerSpec,
  options: { signal?: AbortSignal; timeoutMs?: number; logger?: Logger } = {},
): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new ListenError(`${spec.name} listener: binding ${spec.host}:${spec.port} timed out`, "ETIMEDOUT")),
      options.timeoutMs ?? 10_000,
    );
    const onAbort = () => finish(new ListenError(`${spec.name} listener: start aborted`, "ABORT_ERR"));
    const onError = (e: Error & { code?: string }) =>
      finish(new ListenError(describe(spec, e), e.code ?? "UNKNOWN", { cause: e }));
    const onListening = () => finish();
    function finish(error?: ListenError) {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      server.off("error", onError);
      server.off("listening", onListening);
      if (error) {
        if (server.listening) server.close();
        reject(error);
        return;
      }
      surviveAcceptErrors(server, spec.name, options.logger);
      resolve(server.address() as AddressInfo);
    }
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ host: spec.host, port: spec.port });
  });
}
