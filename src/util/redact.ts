/**
 * Keeps secrets out of log lines. A log field may hold a whole subscription (its push config has
 * an `hmacSecret` and custom headers such as `Authorization`), a config (user passwords, tokens),
 * request headers or an error whose message quotes a URL with a password or a token in it. Every
 * field passes through {@link redactForLog} before it is written; push endpoints are logged with
 * {@link urlForLog}.
 */

/** What a redacted value is replaced with. */
export const REDACTED = "[redacted]";

/**
 * Key names whose values are secrets wherever they appear (compared case-insensitively, with
 * `-` and `_` ignored): `hmacSecret`, `hmac_secret`, `password`, `passwordHash`, `token(s)`,
 * `authorization`, `cookie`, `apiKey`, `secret`, `credentials`.
 */
const SECRET_KEY = /(secret|password|passwd|token|authorization|cookie|apikey|credential)/;

/** `scheme://user:password@` inside any string: the password goes. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]*@/gi;

/** A URL's query inside any string: from `?` to whitespace, a fragment or a quote. */
const URL_QUERY = /\?([^\s#"'<>]+)/g;

/** How deep {@link redactForLog} walks; deeper values are summarised (logs stay bounded). */
const MAX_DEPTH = 8;
/** At most this many entries of one array or object are kept. */
const MAX_ENTRIES = 100;
/** Strings are cut to this many characters. */
const MAX_STRING_CHARS = 4096;

/** True when a field called `key` holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/[-_]/g, ""));
}

/** A query key as its name reads (`+` and `%XX` decoded), for {@link isSecretKey}. */
function decodeQueryKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, " "));
  } catch {
    return key;
  }
}

/** The query with the values of secret-named keys (`token=`, `access_token=`, `api-key=`, …) replaced. */
function redactQuery(query: string): string {
  return query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq <= 0 || eq === pair.length - 1 || !isSecretKey(decodeQueryKey(pair.slice(0, eq)))) return pair;
      return `${pair.slice(0, eq)}=${REDACTED}`;
    })
    .join("&");
}

/**
 * Removes the password of every `scheme://user:password@host` in `text` and the values of
 * secret-named query parameters (`?access_token=…`), and bounds its length.
 */
export function redactText(text: string): string {
  const bounded = text.length > MAX_STRING_CHARS ? `${text.slice(0, MAX_STRING_CHARS)}…` : text;
  return bounded
    .replace(URL_PASSWORD, `$1:${REDACTED}@`)
    .replace(URL_QUERY, (_match, query: string) => `?${redactQuery(query)}`);
}

/**
 * A URL as a log line may show it: origin and path only. User info, query and fragment may carry
 * credentials under any name (`?sig=`, `?code=`), so they are left out; text that is not a URL is
 * cut at its first `?` or `#` and redacted as any string.
 */
export function urlForLog(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin === "null" ? `${u.protocol}//${u.host}` : u.origin}${u.pathname}`;
  } catch {
    return redactText(url.split(/[?#]/, 1)[0] ?? "");
  }
}

/**
 * A copy of `value` fit for a log line: secret-named keys are replaced by {@link REDACTED},
 * URL passwords are cut from strings, errors become `{name, message, stack, cause, reason}`,
 * binary data becomes its length, and depth, entry count and string length are bounded. Cycles
 * are cut.
 */
export function redactForLog(value: unknown): unknown {
  return walk(value, 0, new WeakSet());
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === "string") return redactText(value);
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object") {
    return typeof value === "function" || typeof value === "symbol" ? String(value) : value;
  }
  if (seen.has(value)) return "[circular]";
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[array]" : "[object]";
  seen.add(value);
  try {
    if (value instanceof Error) return describeError(value, depth, seen);
    if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
    if (value instanceof Map) return walkEntries([...value.entries()], depth, seen);
    if (Array.isArray(value) || value instanceof Set) {
      const items = [...value];
      const out = items.slice(0, MAX_ENTRIES).map((v) => walk(v, depth + 1, seen));
      if (items.length > MAX_ENTRIES) out.push(`[${items.length - MAX_ENTRIES} more]`);
      return out;
    }
    return walkEntries(Object.entries(value), depth, seen);
  } finally {
    seen.delete(value);
  }
}

function walkEntries(entries: [unknown, unknown][], depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, MAX_ENTRIES)) {
    const key = String(k);
    out[key] = isSecretKey(key) && v !== undefined && v !== "" ? REDACTED : walk(v, depth + 1, seen);
  }
  if (entries.length > MAX_ENTRIES) out["[more]"] = entries.length - MAX_ENTRIES;
  return out;
}

function describeError(e: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, message: redactText(e.message) };
  const extra = e as Error & { reason?: unknown; code?: unknown; metadata?: unknown; cause?: unknown };
  if (extra.reason !== undefined) out.reason = walk(extra.reason, depth + 1, seen);
  if (extra.code !== undefined) out.code = walk(extra.code, depth + 1, seen);
  if (extra.metadata !== undefined) out.metadata = walk(extra.metadata, depth + 1, seen);
  if (e.stack !== undefined) out.stack = redactText(e.stack);
  if (extra.cause !== undefined) out.cause = walk(extra.cause, depth + 1, seen);
  return out;
}
