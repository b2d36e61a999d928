/**
 * Options of `createSwitchyardTransport` (./transport.ts): connect-node's Connect-transport
 * options for HTTP/2, less `httpVersion`.
 */

import type { BinaryReadOptions, BinaryWriteOptions, JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import type { Http2SessionManager } from "@connectrpc/connect-node";
import type { SwitchyardSessionOptions } from "./session-manager.js";

/**
 * Options of {@link createSwitchyardTransport}; the names and meanings are connect-node's, plus
 * the session's receive windows.
 */
export interface SwitchyardTransportOptions extends SwitchyardSessionOptions {
  /** The broker, `http://host:port` (h2c) or `https://host:port` (TLS). */
  baseUrl: string;
  /**
   * The HTTP/2 session manager to share (e.g. with another transport). Without one the
   * transport makes its own with `createSwitchyardSessionManager` (./session-manager.ts) from
   * the session options (Node's options, pings, receive windows), and `close()` closes it.
   */
  sessionManager?: Http2SessionManager;
  /** Interceptors of every call, as connect-es runs them (the last one is closest to the wire). */
  interceptors?: Interceptor[];
  /** Deadline of a call that gives no `timeoutMs`, in ms (default: none). */
  defaultTimeoutMs?: number;
  /** Largest answer accepted, in bytes (default 4 GiB − 1); larger fails ResourceExhausted. */
  readMaxBytes?: number;
  /** Largest request sent, in bytes (default 4 GiB − 1); larger fails ResourceExhausted. */
  writeMaxBytes?: number;
  /** Requests of at most this many bytes are not compressed (default 1024). */
  compressMinBytes?: number;
  /** Compressed answers accepted (default none: the broker's CPU is better spent elsewhere). */
  acceptCompression?: Compression[];
  /** Compression of requests over `compressMinBytes` (default none). */
  sendCompression?: Compression;
  /** protobuf-es binary options. */
  binaryOptions?: Partial<BinaryReadOptions & BinaryWriteOptions>;
  /** protobuf-es JSON options (used only by the calls that go to connect-node with JSON). */
  jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
  /** `false` (JSON) sends unary calls to connect-node's transport. Default true. */
  useBinaryFormat?: boolean;
  /** `true` (GET for side-effect-free methods) sends unary calls to connect-node's transport. */
  useHttpGet?: boolean;
}
