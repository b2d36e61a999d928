import { REASONS, type Reason, type StatusCode } from "./reasons.js";

/** Options for {@link BrokerError}. */
export interface BrokerErrorOptions {
  /** The underlying error; logged, never sent to clients. */
  cause?: unknown;
  /** Extra machine-readable context sent with the reason (string values only). */
  metadata?: Record<string, string>;
  /** True when repeating the same call may succeed (store hiccup, shutdown of one node). */
  retryable?: boolean;
}

/**
 * The one error type of Switchyard's core and store. It carries a stable {@link Reason};
 * every transport renders it at its edge (Connect error details, RESP `-ERR`, HTTP status).
 */
export class BrokerError extends Error {
  override name = "BrokerError";
  readonly reason: Reason;
  readonly metadata: Record<string, string>;
  readonly retryable: boolean;

  constructor(reason: Reason, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.metadata = options.metadata ?? {};
    this.retryable = options.retryable ?? false;
  }

  /** The canonical status code of this error's reason. */
  get code(): StatusCode {
    return REASONS[this.reason].code;
  }

  /**
   * Turns anything thrown into a BrokerError: BrokerErrors pass through, aborts become
   * CANCELED (or the abort reason when that is a BrokerError), anything else INTERNAL with the
   * original kept as `cause`.
   */
  static from(e: unknown): BrokerError {
    if (e instanceof BrokerError) return e;
    if (e instanceof Error && e.name === "AbortError") {
      const reason = (e as Error & { cause?: unknown }).cause;
      if (reason instanceof BrokerError) return reason;
      return new BrokerError("CANCELED", "the operation was canceled", { cause: e });
    }
    return new BrokerError("INTERNAL", "internal error", { cause: e });
  }
}

/** Shorthand for an INVALID_ARGUMENT error with a field name in its metadata. */
export function invalidArgument(message: string, field?: string): BrokerError {
  return new BrokerError("INVALID_ARGUMENT", message, field === undefined ? {} : { metadata: { field } });
}
