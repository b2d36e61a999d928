/**
 * Lease tokens (ack ids): `<subId>-<seq>-<attempt>-<priority>` in base 36. Opaque to clients;
 * valid from any node that has the cursor, and fenced by the attempt: a token of an older lease
 * of the same message is stale.
 */

/** A parsed lease token. */
export interface LeaseToken {
  subId: number;
  seq: number;
  attempt: number;
  priority: number;
}

/** Most base-36 digits of each field (ids u32, seq ≤ 2^53, attempts u32). */
const FIELD_DIGITS = [7, 11, 7] as const;

/** Formats a lease token (see {@link LeaseToken}). */
export function formatToken(t: LeaseToken): string {
  return `${tokenPrefix(t.subId)}${t.seq.toString(36)}-${t.attempt.toString(36)}-${t.priority}`;
}

/** The start of every token of a subscription: its id in base 36 and the '-'. */
export function tokenPrefix(subId: number): string {
  return `${subId.toString(36)}-`;
}

/** Attempts whose token ends are made once (one base-36 digit) rather than per token. */
const SHORT_ATTEMPTS = 36;

/** `-<attempt>-<priority>` for attempts 1..35 and priorities 0..9, made once. */
const TOKEN_ENDS: readonly string[] = Array.from(
  { length: SHORT_ATTEMPTS * 10 },
  (_, i) => `-${Math.floor(i / 10).toString(36)}-${i % 10}`,
);

/**
 * Formats a token from its subscription's {@link tokenPrefix} (a lease formats one per message):
 * short tokens are flat strings, so each `+` copies; with the end made once, a token is two
 * joins, not four.
 */
export function formatTokenAfter(prefix: string, seq: number, attempt: number, priority: number): string {
  const end =
    attempt < SHORT_ATTEMPTS && priority >= 0 && priority <= 9
      ? (TOKEN_ENDS[attempt * 10 + priority] as string)
      : `-${attempt.toString(36)}-${priority}`;
  return prefix + seq.toString(36) + end;
}

/** The value of a base-36 digit (0-9, a-z), -1 for anything else. */
function digit36(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  return -1;
}

/** Parses a token; undefined when it is not one. */
export function parseToken(s: string): LeaseToken | undefined {
  const t: LeaseToken = { subId: 0, seq: 0, attempt: 0, priority: 0 };
  return parseTokenInto(s, t) ? t : undefined;
}

/**
 * Parses a token into `into` (reused by a caller that parses many: no object per token);
 * false when it is not one (then `into` is unchanged). Hand-written: it runs once per ack.
 */
export function parseTokenInto(s: string, into: LeaseToken): boolean {
  let subId = 0;
  let seq = 0;
  let attempt = 0;
  let i = 0;
  for (let f = 0; f < 3; f++) {
    let value = 0;
    const start = i;
    while (i < s.length && s.charCodeAt(i) !== 45) {
      const d = digit36(s.charCodeAt(i));
      if (d < 0) return false;
      value = value * 36 + d;
      i++;
    }
    if (i === start || i - start > (FIELD_DIGITS[f] as number) || i >= s.length) return false;
    if (f === 0) subId = value;
    else if (f === 1) seq = value;
    else attempt = value;
    i++; // the '-'
  }
  if (i !== s.length - 1) return false;
  const priority = s.charCodeAt(i) - 48;
  if (priority < 0 || priority > 9) return false;
  if (!Number.isSafeInteger(seq) || seq <= 0 || attempt <= 0) return false;
  into.subId = subId;
  into.seq = seq;
  into.attempt = attempt;
  into.priority = priority;
  return true;
}
