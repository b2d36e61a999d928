import type { Delivery, PushSettings } from "../core/index.js";
import { hostAllowed, queryEscape, UNFORWARDED_HEADERS } from "../util/index.js";
import { type PushRequest, SIGNATURE_HEADER, signature } from "./request.js";

/** Attribute prefix of a form field of a `form` push (`form.message` is the field `message`). */
export const FORM_FIELD_PREFIX = "form.";
/** Attribute prefix of a request header of a `form` push (`header.User-Agent`). */
export const FORM_HEADER_PREFIX = "header.";
/**
 * The attribute holding the target URL, kept out of the body (the OPQ bridge stores the first
 * value of the field `url` there: a `url` sent twice is not a body field).
 */
export const FORM_TARGET_ATTRIBUTE = "target.url";
/** Where the target URL is read when {@link FORM_TARGET_ATTRIBUTE} is absent: the body field `url`. */
export const FORM_URL_ATTRIBUTE = `${FORM_FIELD_PREFIX}url`;
/** The media type of the body of a `form` push. */
export const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";

/**
 * Why a message of a `form` push can never be sent as it is (the message says what is wrong): not
 * retried; it leaves its subscription at once (README "Form pushes").
 */
export class UndeliverableError extends Error {
  override name = "UndeliverableError";
}

/** Header values Node's HTTP client sends: tab and visible latin1, no CR, LF or NUL. */
const BAD_HEADER_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The target URL of a message: its {@link FORM_TARGET_ATTRIBUTE}, else its `form.url` (messages
 * stored before the target had its own attribute, or published in that form by another door); an
 * absolute http(s) URL on an allowed host.
 */
function targetUrl(attributes: Record<string, string>, allowedHosts: readonly string[]): URL {
  const name = FORM_TARGET_ATTRIBUTE in attributes ? FORM_TARGET_ATTRIBUTE : FORM_URL_ATTRIBUTE;
  const raw = attributes[name];
  if (raw === undefined) {
    throw new UndeliverableError(`the message has no ${FORM_TARGET_ATTRIBUTE} or ${FORM_URL_ATTRIBUTE} attribute`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UndeliverableError(`${name} is not a URL: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UndeliverableError(`${name} must be an http or https URL, got ${url.protocol}`);
  }
  if (!hostAllowed(url, allowedHosts)) {
    throw new UndeliverableError(`${name} host ${url.host} is not in push-allowed-hosts`);
  }
  return url;
}

/**
 * The url-encoded body of a message's form fields, as Go's `url.Values.Encode` writes it: names in
 * UTF-8 byte order, `QueryEscape`d (spaces as `+`).
 */
export function formBody(attributes: Record<string, string>): string {
  const fields: [Buffer, Buffer][] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith(FORM_FIELD_PREFIX)) {
      fields.push([Buffer.from(key.slice(FORM_FIELD_PREFIX.length), "utf8"), Buffer.from(value, "utf8")]);
    }
  }
  fields.sort((a, b) => Buffer.compare(a[0], b[0]));
  return fields.map(([k, v]) => `${queryEscape(k.toString("latin1"))}=${queryEscape(v.toString("latin1"))}`).join("&");
}

/** Sets a header, replacing one of the same name in another case. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase();
  for (const existing of Object.keys(headers)) if (existing.toLowerCase() === lower) delete headers[existing];
  headers[name] = value;
}

/**
 * The request of one message of a `form` push (the OPQ form post, README "OPQ bridge"): POST to
 * the message's target URL ({@link FORM_TARGET_ATTRIBUTE}, else `form.url`) with its `form.*` fields as the url-encoded body and its `header.*`
 * attributes as headers (framing and hop-by-hop ones left out). The body is always
 * {@link FORM_CONTENT_TYPE}: a `header.Content-Type` is kept only when it names that type (its
 * parameters too). The subscription's own headers go on top; no Switchyard-* headers are added.
 * Throws {@link UndeliverableError} when the message cannot be sent as it is.
 */
export function buildFormRequest(push: PushSettings, d: Delivery, allowedHosts: readonly string[]): PushRequest {
  const attributes = d.message.attributes;
  const url = targetUrl(attributes, allowedHosts);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(FORM_HEADER_PREFIX)) continue;
    const name = key.slice(FORM_HEADER_PREFIX.length);
    const lower = name.toLowerCase();
    if (UNFORWARDED_HEADERS.has(lower)) continue;
    if (!TOKEN.test(name)) throw new UndeliverableError(`${key} is not a valid header name`);
    if (BAD_HEADER_VALUE.test(value)) throw new UndeliverableError(`${key} has a value that cannot be sent`);
    if (lower === "content-type" && value.split(";")[0]?.trim().toLowerCase() !== FORM_CONTENT_TYPE) continue;
    setHeader(headers, name, value);
  }
  if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
    headers["Content-Type"] = FORM_CONTENT_TYPE;
  for (const [name, value] of Object.entries(push.headers)) setHeader(headers, name, value);
  const body = Buffer.from(formBody(attributes), "latin1");
  if (push.hmacSecret !== "") {
    setHeader(headers, SIGNATURE_HEADER, signature(push.hmacSecret, body));
  }
  return { url: url.href, headers, body };
}
