/**
 * Canonical status codes (gRPC numbering, the same as connect's `Code` enum). Owned here so
 * the core depends on no transport package.
 */
export enum StatusCode {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** Every stable failure reason a client can see. Documented in docs/errors.md (checked by test). */
export type Reason =
  | "INVALID_ARGUMENT"
  | "INVALID_NAME"
  | "INVALID_ACK_ID"
  | "TOPIC_NOT_FOUND"
  | "SUBSCRIPTION_NOT_FOUND"
  | "SNAPSHOT_NOT_FOUND"
  | "ALREADY_EXISTS"
  | "DELIVERY_UNKNOWN"
  | "LEASE_EXPIRED"
  | "PAYLOAD_TOO_LARGE"
  | "BATCH_TOO_LARGE"
  | "BACKLOG_FULL"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "SHUTTING_DOWN"
  | "DEADLINE_EXCEEDED"
  | "CANCELED"
  | "UNIMPLEMENTED"
  | "STORE_UNAVAILABLE"
  | "STORE_FAILED"
  | "INSUFFICIENT_STORAGE"
  | "STORE_FORMAT_MISMATCH"
  | "INTERNAL"
  | "NO_DEAD_LETTER_TOPIC"
  | "REPLAY_LIMIT"
  | "PUSH_ENDPOINT_NOT_ALLOWED"
  | "PUSH_SUBSCRIPTION"
  | "SERVER_BUSY";

/** How each reason renders: its canonical code and its HTTP status for the HTTP dialects. */
export interface ReasonInfo {
  readonly code: StatusCode;
  /** HTTP status for REST-style renderings. */
  readonly httpStatus: number;
}

/** The reason table. A `Record` over the union, so the compiler keeps it exhaustive. */
export const REASONS: Readonly<Record<Reason, ReasonInfo>> = {
  INVALID_ARGUMENT: { code: StatusCode.InvalidArgument, httpStatus: 400 },
  INVALID_NAME: { code: StatusCode.InvalidArgument, httpStatus: 400 },
  INVALID_ACK_ID: { code: StatusCode.InvalidArgument, httpStatus: 400 },
  TOPIC_NOT_FOUND: { code: StatusCode.NotFound, httpStatus: 404 },
  SUBSCRIPTION_NOT_FOUND: { code: StatusCode.NotFound, httpStatus: 404 },
  SNAPSHOT_NOT_FOUND: { code: StatusCode.NotFound, httpStatus: 404 },
  ALREADY_EXISTS: { code: StatusCode.AlreadyExists, httpStatus: 409 },
  DELIVERY_UNKNOWN: { code: StatusCode.FailedPrecondition, httpStatus: 409 },
  LEASE_EXPIRED: { code: StatusCode.FailedPrecondition, httpStatus: 409 },
  PAYLOAD_TOO_LARGE: { code: StatusCode.ResourceExhausted, httpStatus: 413 },
  BATCH_TOO_LARGE: { code: StatusCode.InvalidArgument, httpStatus: 413 },
  BACKLOG_FULL: { code: StatusCode.ResourceExhausted, httpStatus: 429 },
  UNAUTHENTICATED: { code: StatusCode.Unauthenticated, httpStatus: 401 },
  PERMISSION_DENIED: { code: StatusCode.PermissionDenied, httpStatus: 403 },
  SHUTTING_DOWN: { code: StatusCode.Unavailable, httpStatus: 503 },
  DEADLINE_EXCEEDED: { code: StatusCode.DeadlineExceeded, httpStatus: 504 },
  CANCELED: { code: StatusCode.Canceled, httpStatus: 499 },
  UNIMPLEMENTED: { code: StatusCode.Unimplemented, httpStatus: 501 },
  STORE_UNAVAILABLE: { code: StatusCode.Unavailable, httpStatus: 503 },
  STORE_FAILED: { code: StatusCode.Internal, httpStatus: 500 },
  INSUFFICIENT_STORAGE: { code: StatusCode.ResourceExhausted, httpStatus: 507 },
  STORE_FORMAT_MISMATCH: { code: StatusCode.FailedPrecondition, httpStatus: 500 },
  INTERNAL: { code: StatusCode.Internal, httpStatus: 500 },
  NO_DEAD_LETTER_TOPIC: { code: StatusCode.FailedPrecondition, httpStatus: 409 },
  REPLAY_LIMIT: { code: StatusCode.ResourceExhausted, httpStatus: 413 },
  PUSH_ENDPOINT_NOT_ALLOWED: { code: StatusCode.PermissionDenied, httpStatus: 403 },
  PUSH_SUBSCRIPTION: { code: StatusCode.FailedPrecondition, httpStatus: 409 },
  SERVER_BUSY: { code: StatusCode.Unavailable, httpStatus: 503 },
};

/** All reasons, in table order. */
export const ALL_REASONS = Object.keys(REASONS) as Reason[];
