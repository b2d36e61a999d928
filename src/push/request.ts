import { createHmac } from "node:crypto";
import type { Delivery, PushSettings } from "../core/index.js";

/** One HTTP request of a push delivery. */
export interface PushRequest {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The header that carries the HMAC-SHA256 signature of the body (when `hmac_secret` is set). */
export const SIGNATURE_HEADER = "Switchyard-Signature";

/** Token characters of a header name (RFC 9110), except `%`, which starts an escape. */
const NAME_KEEP = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/**
 * Percent-encodes the UTF-8 bytes of `text` that `keep` refuses (and every `%`), so that
 * `decodeURIComponent` gives back the original exactly, whatever it contained.
 */
function percentEscape(text: string, keep: (byte: number, index: number, length: number) => boolean): string {
  const bytes = Buffer.from(text, "utf8");
  let out = "";
  bytes.forEach((b, i) => {
    out += keep(b, i, bytes.length) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  });
  return out;
}

/** A header value: visible ASCII and inner spaces as they are, anything else (and `%`) percent-encoded. */
export function headerValue(text: string): string {
  return percentEscape(text, (b, i, n) => (b > 0x20 && b < 0x7f && b !== 0x25) || (b === 0x20 && i > 0 && i < n - 1));
}

/** The `Switchyard-Attr-<key>` header name of an attribute key: token characters kept, the rest percent-encoded. */
export function attributeHeaderName(key: string): string {
  return `Switchyard-Attr-${percentEscape(key, (b) => b < 0x80 && NAME_KEEP.test(String.fromCharCode(b)))}`;
}

/** `sha256=<lower-case hex of HMAC-SHA256(secret, body)>`. */
export function signature(secret: string, body: Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * The JSON envelope of `wrap`: the message in its proto3 JSON form (as a Connect client sees a
 * ReceivedMessage: lowerCamelCase names, `data` in base64, 64-bit `seq` as a string).
 */
export function envelope(subscription: string, d: Delivery): Record<string, unknown> {
  const m = d.message;
  return {
    subscription,
    deliveryAttempt: d.deliveryAttempt,
    message: {
      topic: m.topic,
      seq: String(m.seq),
      id: m.id,
      data: Buffer.from(m.data).toString("base64"),
      attributes: m.attributes,
      publishTime: new Date(m.publishTimeMs).toISOString(),
      priority: m.priority,
      orderingKey: m.orderingKey,
    },
  };
}

/**
 * Builds the POST of one delivery (README "Push subscriptions (webhooks)"): the raw `data` as the body with
 * Switchyard-* headers and one Switchyard-Attr-<key> per attribute, or with `wrap` the JSON
 * {@link envelope}. Custom headers go first; the broker's own headers cannot be overridden
 * (settings refuse them). With `hmacSecret`, {@link SIGNATURE_HEADER} signs the exact body bytes.
 */
export function buildPushRequest(subscription: string, push: PushSettings, d: Delivery): PushRequest {
  const m = d.message;
  const headers: Record<string, string> = { ...push.headers };
  const hasContentType = Object.keys(headers).some((h) => h.toLowerCase() === "content-type");
  let body: Uint8Array;
  if (push.wrap) {
    body = Buffer.from(JSON.stringify(envelope(subscription, d)), "utf8");
    if (!hasContentType) headers["Content-Type"] = "application/json";
  } else {
    body = m.data;
    if (!hasContentType) headers["Content-Type"] = "application/octet-stream";
  }
  headers["Switchyard-Topic"] = headerValue(m.topic);
  headers["Switchyard-Subscription"] = headerValue(subscription);
  headers["Switchyard-Seq"] = String(m.seq);
  headers["Switchyard-Id"] = headerValue(m.id);
  headers["Switchyard-Delivery-Attempt"] = String(d.deliveryAttempt);
  headers["Switchyard-Publish-Time"] = new Date(m.publishTimeMs).toISOString();
  if (m.orderingKey !== "") headers["Switchyard-Ordering-Key"] = headerValue(m.orderingKey);
  if (!push.wrap) {
    for (const [key, value] of Object.entries(m.attributes)) headers[attributeHeaderName(key)] = headerValue(value);
  }
  if (push.hmacSecret !== "") headers[SIGNATURE_HEADER] = signature(push.hmacSecret, body);
  return { url: push.endpoint, headers, body };
}
