/**
 * Seek (and snapshot restore) on an ordered subscription: the seqs a key holds change in bulk, so
 * afterwards each key touched gets its lines straight again (ordering.ts): one active message,
 * the rest waiting. The active one is a message in flight or delayed (leased or pending: it stays,
 * its lease is good) or else the key's lowest seq, so a rewind delivers a key in seq order again.
 * Waiting messages with a lower seq than the active one are marked early.
 */
import type { KvWriter } from "../kv/kv.js";
import type { HeldEntry, StoredHeader } from "./held.js";
import { readyKey, seqKey, Table } from "./keys.js";
import { messageDeliverAt, messageOrderingKeyBytes } from "./message-codec.js";
import { deleteWaiting, keyBody, lineKey, makeAvailable, putWaiting, type SubRef, writeLine } from "./ordering.js";
import type { Counters } from "./records.js";

/** One message of a key after the Seek: held before (kept) or new to the subscription. */
interface Member {
  seq: number;
  priority: number;
  attempts: number;
  deliverAtMs: number;
  held?: HeldEntry;
}

interface Group {
  body: Buffer;
  members: Member[];
  /** A member left or joined: the line needs straightening. */
  changed: boolean;
}

/** Collects the keyed messages of an ordered subscription as a Seek keeps, drops and offers them. */
export class KeyLines {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly w: KvWriter,
    private readonly sub: SubRef,
    private readonly nowMs: number,
    private readonly c: Counters,
  ) {}

  /** The key body and deliver time of a held entry (read before the message may be released). */
  private read(e: HeldEntry): { body: Buffer; deliverAtMs: number } | undefined {
    if (e.waiting) return { body: e.waiting.body, deliverAtMs: e.waiting.deliverAtMs };
    const raw = this.w.get(seqKey(Table.Message, this.sub.topicId, e.seq));
    const key = raw ? messageOrderingKeyBytes(raw) : undefined;
    return raw && key && key.length > 0 ? { body: keyBody(key), deliverAtMs: messageDeliverAt(raw) } : undefined;
  }

  private group(body: Buffer): Group {
    const id = body.toString("latin1");
    let g = this.groups.get(id);
    if (!g) {
      g = { body, members: [], changed: false };
      this.groups.set(id, g);
    }
    return g;
  }

  /** A held entry that stays. */
  keep(e: HeldEntry): void {
    const r = this.read(e);
    if (!r) return;
    this.group(r.body).members.push({ ...e, deliverAtMs: r.deliverAtMs, held: e });
  }

  /** A held entry the Seek drops (call before the message is released). */
  drop(e: HeldEntry): void {
    const r = this.read(e);
    if (r) this.group(r.body).changed = true;
  }

  /** A keyed stored message new to the subscription (the caller counted it as held). */
  offer(seq: number, m: StoredHeader): void {
    const g = this.group(keyBody(m.orderingKey));
    g.members.push({ seq, priority: m.priority, attempts: 0, deliverAtMs: m.deliverAtMs });
    g.changed = true;
  }

  /** Straightens every line that changed. Call once, after the drops and offers. */
  settle(): void {
    for (const g of this.groups.values()) if (g.changed) this.straighten(g);
  }

  /** Rewrites a key's line: the active message, then the others in seq order, linked. */
  private straighten({ body, members }: Group): void {
    const { w, sub } = this;
    if (members.length === 0) {
      w.del(lineKey(sub.id, body));
      return;
    }
    members.sort((a, b) => a.seq - b.seq);
    // In flight or delayed stays active (its lease is good); else the lowest seq.
    const active = members.find((m) => m.held?.pending !== undefined) ?? (members[0] as Member);
    const rest = members.filter((m) => m !== active && !m.held?.pending);
    rest.forEach((m, i) => {
      const e = m.held;
      if (e && !e.waiting) w.del(readyKey(sub.id, e.priority, e.seq)); // a ready one goes back in line
      putWaiting(w, sub.id, m.seq, {
        priority: m.priority,
        attempts: m.attempts,
        early: m.seq < active.seq,
        deliverAtMs: m.deliverAtMs,
        prev: rest[i - 1]?.seq ?? 0,
        next: rest[i + 1]?.seq ?? 0,
        body,
      });
    });
    writeLine(w, sub.id, body, {
      seq: active.seq,
      priority: active.priority,
      first: rest[0]?.seq ?? 0,
      last: rest[rest.length - 1]?.seq ?? 0,
    });
    const e = active.held;
    if (e?.waiting) deleteWaiting(w, sub.id, e.seq, e.waiting);
    if (!e || e.waiting) makeAvailable(w, sub.id, active, this.nowMs, this.c);
  }
}
