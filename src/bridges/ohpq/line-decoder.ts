/** What the {@link LineDecoder} yields. */
export type LineEvent =
  /** One line without its `\n` or `\r\n`. */
  | { type: "line"; line: Buffer }
  /** A line went past the limit: the framing is lost and the decoder yields nothing more. */
  | { type: "too-long" };

/**
 * Splits a byte stream into lines (README "Oh, Please Queue" bridge): a line ends at `\n`, and a
 * `\r` right before it is dropped. A line longer than `maxLineBytes` (terminator not counted)
 * is reported as soon as that is certain, without buffering the rest of it; the decoder then
 * stays failed. Incremental: any split of the input into chunks yields the same events.
 */
export class LineDecoder {
  private readonly chunks: Buffer[] = [];
  /** Bytes held in `chunks` (the start of a line not yet ended). */
  private held = 0;
  private broken = false;

  constructor(private readonly maxLineBytes: number) {}

  /** True once a line was too long. */
  get failed(): boolean {
    return this.broken;
  }

  /** Bytes of the unfinished line held so far (at most `maxLineBytes + 1`). */
  get bufferedBytes(): number {
    return this.held;
  }

  /** Feeds a chunk; returns the events it completes. */
  push(chunk: Buffer): LineEvent[] {
    if (this.broken) return [];
    const out: LineEvent[] = [];
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(10, start);
      if (lf < 0) break;
      const piece = chunk.subarray(start, lf);
      start = lf + 1;
      let line = this.held > 0 ? Buffer.concat([...this.chunks, piece], this.held + piece.length) : piece;
      this.chunks.length = 0;
      this.held = 0;
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLineBytes) return this.fail(out);
      out.push({ type: "line", line: Buffer.from(line) });
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      // One byte of headroom, when it is a `\r`: the end of a `\r\n` line of exactly the limit.
      const total = this.held + rest.length;
      const crLast = rest[rest.length - 1] === 13;
      if (total > this.maxLineBytes + 1 || (total === this.maxLineBytes + 1 && !crLast)) return this.fail(out);
      this.chunks.push(Buffer.from(rest));
      this.held += rest.length;
    }
    return out;
  }

  private fail(out: LineEvent[]): LineEvent[] {
    this.broken = true;
    this.chunks.length = 0;
    this.held = 0;
    out.push({ type: "too-long" });
    return out;
  }
}
