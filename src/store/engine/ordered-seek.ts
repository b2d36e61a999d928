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
import { activate, headKey, keyBody, putWaiting, removeWaiting, type SubRef, setActive } from "./ordering.js";
import type { Counters } from "./records.js";

/** One message of a key after the Seek: held before (kept) or new to the subscription. */
interface Member {
  seq: number;
  priority: number;
  held?: HeldEntry;
  /** Header of a message new to the subscription. */
  offered?: StoredHeader;
}

interface Line {
  body: Buffer;
  members: Member[];
  /** A member left or joined: the line needs straightening. */
  changed: boolean;
}

/** Collects the keyed messages of an ordered subscription as a Seek keeps, drops and offers them. */
export class KeyLines {
  private readonly lines = new Map<string, Line>();

  constructor(
    private readonly w: KvWriter,
    private readonly sub: SubRef,
    private readonly nowMs: number,
    private readonly c: Counters,
  ) {}

  /** The key body of a held entry (read before the message may be released), if it has a key. */
  private bodyOf(e: HeldEntry): Buffer | undefined {
    if (e.waiting) return e.waiting.body;
    const raw = this.w.get(seqKey(Table.Message, this.sub.topicId, e.seq));
    const key = raw ? messageOrderingKeyBytes(raw) : undefined;
    return key && key.length > 0 ? keyBody(key) : undefined;
  }

  private line(body: Buffer): Line {
    const id = body.toString("latin1");
    let line = this.lines.get(id);
    if (!line) {
      line = { body, members: [], changed: false };
      this.lines.set(id, line);
    }
    return line;
  }

  /** A held entry that stays. */
  keep(e: HeldEntry): void {
    const body = this.bodyOf(e);
    if (body) this.line(body).members.push({ seq: e.seq, priority: e.priority, held: e });
  }

  /** A held entry the Seek drops (call before the message is released). */
  drop(e: HeldEntry): void {
    const body = this.bodyOf(e);
    if (body) this.line(body).changed = true;
  }

  /**
   * A stored message new to the subscription (the caller counted it as held). Returns false when
   * it has no ordering key: the caller makes it available as usual.
   */
  offer(seq: number, m: StoredHeader): boolean {
    if (m.orderingKey.length === 0) return false;
    const line = this.line(keyBody(m.orderingKey));
    line.members.push({ seq, priority: m.priority, offered: m });
    line.changed = true;
    return true;
  }

  /** Straightens every line that changed. Call once, after the drops and offers. */
  settle(): void {
    for (const line of this.lines.values()) if (line.changed) this.straighten(line);
  }

  private straighten({ body, members }: Line): void {
    const { w, sub } = this;
    if (members.length === 0) {
      w.del(headKey(sub.id, body));
      return;
    }
    let active = members.find((m) => m.held?.pending !== undefined);
    if (!active) for (const m of members) if (!active || m.seq < active.seq) active = m;
    const head = active as Member;
    for (const m of members) if (m !== head) this.wait(body, m, m.seq < head.seq);
    const e = head.held;
    if (e?.waiting) {
      removeWaiting(w, sub.id, e.waiting.key, e.seq, e.waiting.value);
      const raw = w.get(seqKey(Table.Message, sub.topicId, e.seq));
      const deliverAtMs = raw ? messageDeliverAt(raw) : 0;
      activate(
        w,
        sub.id,
        body,
        { seq: e.seq, priority: e.priority, attempts: e.attempts, deliverAtMs },
        this.nowMs,
        this.c,
      );
    } else if (e) {
      setActive(w, sub.id, body, e.seq, e.priority); // ready or pending already
    } else {
      const deliverAtMs = head.offered?.deliverAtMs ?? 0;
      activate(
        w,
        sub.id,
        body,
        { seq: head.seq, priority: head.priority, attempts: 0, deliverAtMs },
        this.nowMs,
        this.c,
      );
    }
  }

  /** Puts a member behind the key's active message (a ready one leaves ready, keeping its attempts). */
  private wait(body: Buffer, m: Member, early: boolean): void {
    const { w, sub } = this;
    const e = m.held;
    if (e?.pending) return; // a second message in flight cannot be called back; never expected
    if (e?.waiting) {
      if (e.waiting.value.early !== early) putWaiting(w, sub.id, body, e.seq, { ...e.waiting.value, early });
      return;
    }
    if (e) w.del(readyKey(sub.id, e.priority, e.seq));
    putWaiting(w, sub.id, body, m.seq, { priority: m.priority, attempts: e?.attempts ?? 0, early });
  }
}
