import { type Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { BrokerError } from "../errors/index.js";
import type { Logger } from "../util/index.js";

/**
 * Renders anything thrown by the core as a ConnectError carrying an ErrorDetail with the
 * stable reason. INTERNAL errors get a generic message; their cause goes to the log only.
 */
export function toConnectError(e: unknown, logger: Logger): ConnectError {
  if (e instanceof ConnectError && !(e.cause instanceof BrokerError)) return e;
  const err = BrokerError.from(e);
  let message = err.message;
  if (err.reason === "INTERNAL" || err.reason === "STORE_UNAVAILABLE") {
    logger.error("request failed", { reason: err.reason, cause: err.cause ?? err });
    message = err.reason === "INTERNAL" ? "internal error" : "the store is unavailable; try again";
  }
  const detail = { desc: ErrorDetailSchema, value: { reason: err.reason, metadata: err.metadata } };
  return new ConnectError(message, err.code as number as Code, undefined, [detail]);
}

/**
 * Wraps a handler so every failure leaves as a {@link toConnectError} rendering. One promise
 * reaction per call (no async frame): the unary hot path calls it for every request.
 */
export function mapErrors<A extends unknown[], R>(logger: Logger, fn: (...args: A) => Promise<R>) {
  return mapErrorsThen(logger, fn, same);
}

function same<T>(value: T): T {
  return value;
}

/**
 * {@link mapErrors} for a handler whose result is the core's promise followed by one step
 * (`then`): the step runs in the same promise reaction that maps the core's errors, so a call
 * waits on one promise instead of two (a failure of `then` itself is mapped too).
 */
export function mapErrorsThen<A extends unknown[], T, R>(
  logger: Logger,
  fn: (...args: A) => Promise<T>,
  then: (value: T) => R,
) {
  const rethrow = (e: unknown): never => {
    throw toConnectError(e, logger);
  };
  const step = (value: T): R => {
    try {
      return then(value);
    } catch (e) {
      throw toConnectError(e, logger);
    }
  };
  return (...args: A): Promise<R> => {
    let result: Promise<T>;
    try {
      result = fn(...args);
    } catch (e) {
      return Promise.reject(toConnectError(e, logger));
    }
    return result.then(step, rethrow);
  };
}
