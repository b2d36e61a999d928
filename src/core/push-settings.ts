import { BrokerError, invalidArgument } from "../errors/index.js";
import type { PushSettings } from "../model/index.js";
import { hostAllowed } from "../util/index.js";
import type { BrokerLimits } from "./limits.js";
import { validateRange } from "./validate.js";

/** Longest push endpoint URL, in bytes. */
const MAX_ENDPOINT_BYTES = 4096;
/** Most custom headers on a push, and their total size (names plus values). */
const MAX_HEADERS = 64;
const MAX_HEADER_BYTES = 16 * 1024;
/** Longest HMAC secret, in bytes. */
const MAX_SECRET_BYTES = 1024;

/** RFC 9110 token: a valid header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII plus inner spaces and tabs: a header value that needs no encoding. */
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?$/;

/**
 * Header names a subscription may not set: the broker's own (`switchyard-*`), framing and
 * hop-by-hop headers that the HTTP client owns.
 */
const RESERVED_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "host",
  "te",
  "trailer",
  "expect",
  "proxy-connection",
]);

function pushField(field: string): string {
  return `push.${field}`;
}

/** The parsed endpoint, or INVALID_ARGUMENT. Only http and https, no credentials in the URL. */
export function parseEndpoint(endpoint: string): URL {
  const field = pushField("endpoint");
  if (endpoint === "") throw invalidArgument("push.endpoint is required", field);
  if (Buffer.byteLength(endpoint) > MAX_ENDPOINT_BYTES) {
    throw invalidArgument(`push.endpoint is longer than ${MAX_ENDPOINT_BYTES} bytes`, field);
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalidArgument(`push.endpoint is not a URL: ${JSON.stringify(endpoint)}`, field);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalidArgument(`push.endpoint must be an http or https URL, got ${url.protocol}`, field);
  }
  if (url.username !== "" || url.password !== "") {
    throw invalidArgument("push.endpoint must not carry credentials; send them in push.headers", field);
  }
  return url;
}

/** PUSH_ENDPOINT_NOT_ALLOWED unless the endpoint's host is on the allow-list (empty: all allowed). */
export function checkEndpointAllowed(url: URL, allowedHosts: readonly string[]): void {
  if (hostAllowed(url, allowedHosts)) return;
  throw new BrokerError(
    "PUSH_ENDPOINT_NOT_ALLOWED",
    `push endpoint host "${url.host}" is not in the server's push-allowed-hosts`,
    { metadata: { field: pushField("endpoint"), host: url.host } },
  );
}

function validateHeaders(headers: Record<string, string>): void {
  const field = pushField("headers");
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) throw invalidArgument(`push.headers has more than ${MAX_HEADERS} entries`, field);
  let bytes = 0;
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name))
      throw invalidArgument(`push header name ${JSON.stringify(name)} is not a valid token`, field);
    if (lower.startsWith("switchyard-") || RESERVED_HEADERS.has(lower)) {
      throw invalidArgument(`push header "${name}" is set by the broker and cannot be overridden`, field);
    }
    if (seen.has(lower))
      throw invalidArgument(`push header "${name}" is given twice (names are case-insensitive)`, field);
    seen.add(lower);
    if (!HEADER_VALUE.test(value)) {
      throw invalidArgument(
        `push header "${name}" has a value with control or non-ASCII characters, or surrounding spaces`,
        field,
      );
    }
    bytes += name.length + value.length;
  }
  if (bytes > MAX_HEADER_BYTES) throw invalidArgument(`push.headers are over ${MAX_HEADER_BYTES} bytes`, field);
}

/**
 * Validates a push config and fills in defaults (timeout, max_in_flight). Bad values are
 * INVALID_ARGUMENT with `metadata.field`; an endpoint outside the allow-list is
 * PUSH_ENDPOINT_NOT_ALLOWED.
 */
export function pushSettings(push: PushSettings, limits: BrokerLimits): PushSettings {
  const form = push.form === true;
  if (form && push.endpoint !== "") {
    throw invalidArgument("push.endpoint must be empty with push.form (each message names its URL)", "push.endpoint");
  }
  if (form && push.wrap) throw invalidArgument("push.form and push.wrap cannot both be set", "push.wrap");
  const url = form ? undefined : parseEndpoint(push.endpoint);
  const s: PushSettings = {
    endpoint: push.endpoint,
    headers: { ...push.headers },
    timeoutMs: push.timeoutMs || limits.defaultPushTimeoutMs,
    anyResponseIsSuccess: push.anyResponseIsSuccess,
    hmacSecret: push.hmacSecret,
    maxInFlight: push.maxInFlight || 1,
    wrap: push.wrap,
    form,
    onlyServerErrorsFail: push.onlyServerErrorsFail === true,
  };
  validateHeaders(s.headers);
  validateRange(pushField("timeout_ms"), s.timeoutMs, 1, limits.maxPushTimeoutMs);
  validateRange(pushField("max_in_flight"), s.maxInFlight, 1, limits.maxPushInFlight);
  if (Buffer.byteLength(s.hmacSecret) > MAX_SECRET_BYTES) {
    throw invalidArgument(`push.hmac_secret is longer than ${MAX_SECRET_BYTES} bytes`, pushField("hmac_secret"));
  }
  if (url) checkEndpointAllowed(url, limits.pushAllowedHosts);
  return s;
}

/**
 * How long a push delivery is leased: the request timeout plus a margin (half the timeout,
 * 1–10 s), so the lease outlives the request and no second copy goes out while one is in flight.
 */
export function pushLeaseMs(push: PushSettings, limits: Pick<BrokerLimits, "maxAckDeadlineMs">): number {
  const margin = Math.min(10_000, Math.max(1_000, Math.ceil(push.timeoutMs / 2)));
  return Math.min(limits.maxAckDeadlineMs, push.timeoutMs + margin);
}
