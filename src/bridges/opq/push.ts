import type { IncomingMessage } from "node:http";
import { canonicalHeaderKey, encodeQuery, UNFORWARDED_HEADERS } from "../../util/index.js";
import type { Form } from "./form.js";

/** Attribute prefix of a form field (the push agent's `form` push reads the same names). */
export const FIELD_PREFIX = "form.";
/** Attribute prefix of a producer header. */
export const HEADER_PREFIX = "header.";
/**
 * The attribute holding the target URL: the first value of the field `url`. Kept apart from the
 * body's fields because a `url` sent twice is not one of them (OPQ delivered to the first and left
 * `url` out of the body). The push agent's `form` push reads the same name.
 */
export const TARGET_ATTRIBUTE = "target.url";

/** What a push request stores: the message's attributes, or why it is refused (a 400 body). */
export type PushMessage = { topic: string; attributes: Record<string, string> } | { refused: string };

/** What {@link pushMessage} needs beyond the request. */
export interface PushMessageOptions {
  /** Most attributes a message may have (the broker's limit). */
  maxAttributes: number;
  /** Headers not to store, lower case (e.g. `authorization` once the broker checked it). */
  dropHeaders?: ReadonlySet<string>;
  /** Hosts a target URL may name (`--push-allowed-hosts`); empty: any. */
  urlAllowed: (url: URL) => boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A byte string (latin1) as UTF-8 text; undefined when it is not valid UTF-8. */
function text(bytes: string): string | undefined {
  try {
    return utf8.decode(Buffer.from(bytes, "latin1"));
  } catch {
    return undefined;
  }
}

/** Go's `strconv.Atoi`: an optional sign and decimal digits within int64. */
export function goAtoi(s: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

/**
 * The producer's single-valued headers (README "OPQ bridge": each header sent exactly once), under
 * Go's canonical names; framing and hop-by-hop headers, which are never forwarded, are left out.
 */
export function singleValuedHeaders(req: IncomingMessage, drop: ReadonlySet<string>): [string, string][] {
  const counts = new Map<string, { name: string; value: string; count: number }>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (name.startsWith(":") || UNFORWARDED_HEADERS.has(lower) || drop.has(lower)) continue;
    const key = canonicalHeaderKey(name);
    const seen = counts.get(key);
    if (seen) seen.count++;
    else counts.set(key, { name: key, value: raw[i + 1] as string, count: 1 });
  }
  return [...counts.values()].filter((h) => h.count === 1).map((h) => [h.name, h.value]);
}

/**
 * Checks a push request's form in OPQ's order (README "OPQ bridge") and builds the message it
 * stores: {@link TARGET_ATTRIBUTE} (the first `url`), `form.<name>` for every single-valued field
 * and `header.<Name>` for the producer's single-valued headers, at most `maxAttributes` in all. Refusals are the 400 body detail: OPQ's dump of the received form for a
 * missing `topic` or `url`, a bad `recorder`, or a `url` that is not an absolute http(s) URL
 * (OPQ dropped the connection on some of those); a plain reason for what Switchyard adds.
 */
export function pushMessage(form: Form, req: IncomingMessage, o: PushMessageOptions): PushMessage {
  const dump = () => ({ refused: encodeQuery(form) });
  const topicBytes = form.get("topic")?.[0];
  if (topicBytes === undefined) return dump();
  const urlBytes = form.get("url")?.[0];
  if (urlBytes === undefined) return dump();
  const recorder = form.get("recorder")?.[0];
  if (recorder !== undefined && goAtoi(recorder) === undefined) return dump();
  const urlText = text(urlBytes);
  if (urlText === undefined) return dump();
  let url: URL | undefined;
  try {
    url = new URL(urlText);
  } catch {}
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return dump();
  if (!o.urlAllowed(url)) return { refused: `url host ${url.host} is not in the broker's push-allowed-hosts` };
  const topic = text(topicBytes);
  if (topic === undefined) return { refused: "topic is not valid UTF-8" };
  const attributes: Record<string, string> = { [TARGET_ATTRIBUTE]: urlText };
  let count = 1;
  for (const [key, values] of form) {
    if (values.length !== 1) continue; // OPQ forwards only single-valued fields
    const name = text(key);
    const value = text(values[0] as string);
    if (name === undefined || value === undefined) {
      return { refused: `form field ${JSON.stringify(Buffer.from(key, "latin1").toString())} is not valid UTF-8` };
    }
    attributes[`${FIELD_PREFIX}${name}`] = value;
    count++;
  }
  if (count > o.maxAttributes) return { refused: `more than ${o.maxAttributes - 1} form fields` };
  for (const [name, value] of singleValuedHeaders(req, o.dropHeaders ?? new Set())) {
    if (count >= o.maxAttributes) break; // OPQ, too, stored a bounded number of headers
    attributes[`${HEADER_PREFIX}${name}`] = value;
    count++;
  }
  return { topic, attributes };
}
