/**
 * What one bounded step of work may still look at: a count of entries and the bytes of the
 * message values it reads. A count alone does not bound a step: 10,000 messages of 1 MiB are
 * 10 GiB. Every step takes at least one entry, so a step always moves on.
 */

/** Bytes of message values one step reads at most (past it, the entry that crossed it ends the step). */
export const STEP_MAX_BYTES = 8 * 1024 * 1024;

/** The entries and bytes a step has left (see the module comment). */
export class StepBudget {
  /** Entries taken so far. */
  taken = 0;

  constructor(
    public entries: number,
    public bytes: number = STEP_MAX_BYTES,
  ) {}

  /** Nothing left: the step ends (before its next entry). */
  get spent(): boolean {
    return this.entries <= 0 || this.bytes <= 0;
  }

  /** Counts one entry of `valueBytes` read bytes. */
  take(valueBytes = 0): void {
    this.entries--;
    this.bytes -= valueBytes;
    this.taken++;
  }
}
