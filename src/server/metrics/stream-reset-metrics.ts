import { Counter, type Counter as CounterType, type Registry } from "prom-client";

/**
 * `error_code` label values: the HTTP/2 error codes of RFC 9113 §7 (0x0..0xd) in lower case, by
 * code. Any other code is counted as `unknown`: the label set stays bounded whatever a client sends.
 */
const ERROR_CODE_NAMES: readonly string[] = [
  "no_error",
  "protocol_error",
  "internal_error",
  "flow_control_error",
  "settings_timeout",
  "stream_closed",
  "frame_size_error",
  "refused_stream",
  "cancel",
  "compression_error",
  "connect_error",
  "enhance_your_calm",
  "inadequate_security",
  "http_1_1_required",
];

/** The label value of an HTTP/2 error code. */
export function http2ErrorCodeName(code: number): string {
  return ERROR_CODE_NAMES[code] ?? "unknown";
}

/**
 * `switchyard_rpc_streams_reset_total`: HTTP/2 streams of the RPC port that ended before their
 * response did because the client reset them (RST_STREAM) or its connection went, per HTTP/2
 * error code (`no_error` when the connection went without one). Returns the function that counts
 * one; the children are made once, so a flood of resets costs no label hashing.
 */
export function createStreamResetCounter(registry: Registry): (code: number) => void {
  const counter: CounterType<"error_code"> = new Counter({
    name: "switchyard_rpc_streams_reset_total",
    help: "HTTP/2 streams on the RPC port the client reset or lost with its connection before their response ended, per HTTP/2 error code.",
    labelNames: ["error_code"] as const,
    registers: [registry],
  });
  const children = [...ERROR_CODE_NAMES, "unknown"].map((name) => counter.labels(name));
  const unknown = children[children.length - 1] as ReturnType<typeof counter.labels>;
  return (code) => {
    (children[code] ?? unknown).inc();
  };
}
