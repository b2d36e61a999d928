/**
 * A subscription's cursor in memory: per priority lane an ack floor, acked ranges and a scan
 * position (lane.ts), plus the messages it tracks because they need state the log does not
 * have: leased (the lease lives here only), available again after a nack or an expired lease,
 * delayed, waiting behind their ordering key, or on their way out (dead letter, TTL). What must
 * survive a crash is persisted by the operation that changes it (cursor-store.ts): the floors and
 * ranges (acks), the counters, and per message only a failed delivery's attempt count and a nack's
 * delay. Leases are never written; after a restart every unacked message is available again.
 * The per-message data it keeps (entries, lease batches, ordering lines) is in cursor-entry.ts;
 * how ordering keys pass their turn on (ordered subscriptions) is in ordering-lines.ts.
 */
import type { SubscriptionRecord } from "../store.js";
import type { Entry, EntryState, Known, LeaseBatch, Line } from "./cursor-entry.js";
import { activeFilter, matchesFilter } from "./fan-out.js";
import { LANES, Lane } from "./lane.js";
import { messageAttributes, messageOnlyFor } from "./message-codec.js";
import { MinHeap } from "./min-heap.js";

export type { Entry, EntryState, Known, LeaseBatch, Line } from "./cursor-entry.js";

/** Stale entries a heap may hold in all before it is compacted (see Cursor.addBatch, setKnown). */
const MIN_BATCHES_BEFORE_COMPACTING = 64;

/** A subscription's cursor in memory (see the module comment). */
export class Cursor {
  readonly lanes: Lane[];
  readonly tracked = new Map<number, Entry>();
  readonly known = new Map<number, Known>();
  /** Due times of `known` entries (lazy: checked against `known` on use), for the next due time. */
  readonly knownDue = new MinHeap<number>();
  /** Messages the subscription holds (unacked); persisted. */
  unacked = 0;
  /** Messages that used up their delivery attempts; persisted. */
  deadLettered = 0;
  /**
   * Seqs [countFrom, countTo] not yet counted into `unacked` (a subscription created at an
   * earlier position, counted in the background); empty when countTo < countFrom.
   */
  countFrom = 0;
  countTo = -1;
  readonly batches = new MinHeap<LeaseBatch>();
  readonly delays = new MinHeap<Entry>();
  inFlight = 0;
  delayed = 0;
  /** Ordered subscriptions: lines per ordering key (ordering-lines.ts). */
  readonly lines = new Map<string, Line>();
  /** The latest time due work was applied at (delays elapsed before it are not "delayed"). */
  processedMs = Number.NEGATIVE_INFINITY;
  /** Changed since last persisted (the cursor record, ranges). */
  dirty = false;
  /**
   * Writes in flight that carry per-message states of this cursor (written by their callback,
   * not yet committed): a retry waits for them as for dirty states (kv-store.ts).
   */
  stateWrites = 0;
  /** Per-message states to write (value) or delete (null) in the next flush. */
  readonly dirtyStates = new Map<number, Known | null>();
  /** A scan stopped at its bound before the end of the log: a lease may find more at once. */
  scanIncomplete = false;
  /** Entries exhausted or gone: the next write moves them out (dead letter, drop). */
  readonly outgoing = new Set<Entry>();
  /**
   * The last pending write that makes messages available again (a nack, a Seek): deliveries
   * wait for it, so a message given back before a lease was asked for is there for that lease.
   */
  barrier: Promise<unknown> | undefined;

  private rec: SubscriptionRecord;
  private filterOf: Record<string, string> | undefined;

  constructor(record: SubscriptionRecord, startSeq: number) {
    this.rec = record;
    this.filterOf = activeFilter(record.filter);
    this.lanes = Array.from({ length: LANES }, (_, p) => new Lane(p, startSeq));
  }

  /** The subscription's record (settings). */
  get record(): SubscriptionRecord {
    return this.rec;
  }

  set record(r: SubscriptionRecord) {
    this.rec = r;
    this.filterOf = activeFilter(r.filter);
  }

  get id(): number {
    return this.record.id;
  }

  get ordered(): boolean {
    return this.record.ordered;
  }

  /** The filter, undefined when it passes everything. */
  get filter(): Record<string, string> | undefined {
    return this.filterOf;
  }

  /** Does the subscription take a message (its filter, and a redriven message's target)? */
  wants(onlyFor: number, attributes: () => Record<string, string>): boolean {
    if (onlyFor !== 0 && onlyFor !== this.rec.id) return false;
    const f = this.filterOf;
    return f === undefined || matchesFilter(f, attributes());
  }

  /** {@link wants} for a stored message's bytes: its attributes are parsed only for a filter. */
  wantsStored(raw: Buffer): boolean {
    const onlyFor = messageOnlyFor(raw);
    if (onlyFor !== 0 && onlyFor !== this.rec.id) return false;
    const f = this.filterOf;
    return f === undefined || matchesFilter(f, messageAttributes(raw));
  }

  /**
   * Does the subscription hold (has not settled) the stored message at `seq` in lane `lane`?
   * `attributes` is read only for a filtered subscription that has not looked at it yet.
   */
  holds(seq: number, lane: number, onlyFor: number, attributes: () => Record<string, string>): boolean {
    const l = this.lanes[lane] as Lane;
    if (l.settled(seq)) return false;
    if (this.tracked.has(seq)) return true;
    if (seq < l.next) return false; // looked at, not tracked: left without delivery
    return this.wants(onlyFor, attributes);
  }

  /** Is `seq` in the region not yet counted into `unacked`? */
  uncounted(seq: number): boolean {
    return seq >= this.countFrom && seq <= this.countTo;
  }

  /** Lowers `unacked` for a held message that leaves (unless it was never counted). */
  countOut(seq: number): void {
    if (!this.uncounted(seq)) this.unacked = Math.max(0, this.unacked - 1);
  }

  /** The lowest live tracked seq of a lane (infinite: none). */
  minTracked(lane: number): number {
    const heap = (this.lanes[lane] as Lane).trackedSeqs;
    for (;;) {
      const seq = heap.peekKey();
      if (seq === undefined) return Number.POSITIVE_INFINITY;
      if (this.tracked.get(seq)?.lane === lane) return seq;
      heap.pop();
    }
  }

  /**
   * Adds a lease batch to the expiry heap. A batch whose leases all ended (acked, extended into
   * another batch) stays in the heap until its deadline; when such dead batches outnumber the
   * live ones (at most one per leased message), the heap drops them in one pass, so repeated
   * extends (ModifyAckDeadline) keep it bounded by the leases in flight.
   */
  addBatch(batch: LeaseBatch): void {
    this.batches.push(batch.deadlineMs, batch);
    if (this.batches.size > 2 * this.inFlight + MIN_BATCHES_BEFORE_COMPACTING) {
      this.batches.retain((b) => b.alive > 0);
    }
  }

  /** Recomputes every lane's floor (before persisting or snapshotting). */
  normalize(): void {
    for (const l of this.lanes) l.normalize(() => this.minTracked(l.priority));
  }

  /** Starts tracking an entry. */
  track(e: Entry): void {
    this.tracked.set(e.seq, e);
    (this.lanes[e.lane] as Lane).trackedSeqs.push(e.seq, e.seq);
    this.enter(e);
  }

  /** Bookkeeping of an entry entering its state. */
  enter(e: Entry): void {
    switch (e.state) {
      case "leased":
        this.inFlight++;
        break;
      case "delayed":
        this.delayed++;
        this.delays.push(e.dueMs, e);
        break;
      case "ready":
        (this.lanes[e.lane] as Lane).ready.push(e.seq, e.seq);
        break;
      case "exhausted":
      case "gone":
        this.outgoing.add(e);
        break;
    }
  }

  /** Bookkeeping of an entry leaving its state (before a change or untracking). */
  leave(e: Entry): void {
    if (e.state === "leased") {
      this.inFlight--;
      if (e.batch && --e.batch.alive === 0) e.batch.seqs = [];
    } else if (e.state === "delayed") this.delayed--;
    else if (e.state === "exhausted" || e.state === "gone") this.outgoing.delete(e);
  }

  /** Moves a tracked entry to another state; ready to ready adds no heap copy (it has one: `enter`). */
  move(e: Entry, state: EntryState, dueMs = 0): void {
    const stillReady = e.state === "ready" && state === "ready";
    this.leave(e);
    e.state = state;
    e.dueMs = dueMs;
    if (state !== "leased") e.batch = undefined;
    if (!stillReady) this.enter(e);
  }

  /**
   * Stops tracking an entry: it was settled or left the subscription (its stored state goes),
   * or, with `keepState`, it goes back to being read from the log (a Seek), state and all.
   */
  untrack(e: Entry, keepState = false): void {
    this.leave(e);
    this.tracked.delete(e.seq);
    if (keepState) return;
    if (e.persisted) this.dirtyStates.set(e.seq, null);
    e.persisted = false;
  }

  /** Records what the cursor knows of a seq it does not track (see {@link Known}). */
  setKnown(seq: number, k: Known): void {
    this.known.set(seq, k);
    if (k.dueMs <= 0) return;
    this.knownDue.push(k.dueMs, seq);
    if (this.knownDue.size > 2 * this.known.size + MIN_BATCHES_BEFORE_COMPACTING) {
      this.knownDue.retain((s, due) => this.known.get(s)?.dueMs === due);
    }
  }

  /** The earliest due time among the `known` entries (infinite: none). */
  earliestKnownDue(): number {
    for (;;) {
      const seq = this.knownDue.peek();
      const due = this.knownDue.peekKey();
      if (seq === undefined || due === undefined) return Number.POSITIVE_INFINITY;
      if (this.known.get(seq)?.dueMs === due) return due;
      this.knownDue.pop();
    }
  }

  /** Forgets what the cursor knows of an untracked seq (it left), with its stored state. */
  forget(seq: number): void {
    const k = this.known.get(seq);
    if (!k) return;
    this.known.delete(seq);
    if (k.persisted) this.dirtyStates.set(seq, null);
  }

  /** Attempts so far of a message the cursor does not track. */
  untrackedAttempts(seq: number, lane: number, deliverAtMs: number, loadedMs: number): number {
    const k = this.known.get(seq);
    if (k) return k.attempts;
    const l = this.lanes[lane] as Lane;
    // Below the scan position persisted before a restart: probably delivered once already.
    return seq < l.loadMark && !(deliverAtMs > loadedMs) ? 1 : 0;
  }

  /** Records (for the next write) a message state that must survive a restart. */
  persistState(seq: number, attempts: number, dueMs: number): void {
    this.dirtyStates.set(seq, { attempts, dueMs, persisted: true });
  }

  /** Drops every tracked entry that `keep` refuses (Seek); returns them. */
  dropTracked(keep: (e: Entry) => boolean): Entry[] {
    const dropped: Entry[] = [];
    for (const e of [...this.tracked.values()]) {
      if (keep(e)) continue;
      this.untrack(e);
      dropped.push(e);
    }
    return dropped;
  }

  /** Re-indexes the tracked entries after lanes were reset (Seek). */
  reindex(): void {
    this.delays.clear();
    this.batches.clear();
    for (const l of this.lanes) {
      l.ready.clear();
      l.trackedSeqs.clear();
    }
    const batches = new Set<LeaseBatch>();
    for (const e of this.tracked.values()) {
      const l = this.lanes[e.lane] as Lane;
      l.trackedSeqs.push(e.seq, e.seq);
      if (e.state === "ready") l.ready.push(e.seq, e.seq);
      if (e.state === "delayed") this.delays.push(e.dueMs, e);
      if (e.state === "leased" && e.batch && !batches.has(e.batch)) {
        batches.add(e.batch);
        this.batches.push(e.batch.deadlineMs, e.batch);
      }
    }
  }
}
