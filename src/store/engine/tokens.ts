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

const TOKEN = /^([0-9a-z]{1,7})-([0-9a-z]{1,11})-([0-9a-z]{1,7})-([0-9])$/;

export function formatToken(t: LeaseToken): string {
  return `${t.subId.toString(36)}-${t.seq.toString(36)}-${t.attempt.toString(36)}-${t.priority}`;
}

export function parseToken(s: string): LeaseToken | undefined {
  const m = TOKEN.exec(s);
  if (!m) return undefined;
  const t = {
    subId: Number.parseInt(m[1] as string, 36),
    seq: Number.parseInt(m[2] as string, 36),
    attempt: Number.parseInt(m[3] as string, 36),
    priority: Number.parseInt(m[4] as string, 10),
  };
  return Number.isSafeInteger(t.seq) && t.seq > 0 && t.attempt > 0 ? t : undefined;
}
