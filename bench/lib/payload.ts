/**
 * Benchmark payloads: `sizeBytes` bytes whose first 16 bytes carry a send timestamp (f64, ms on the
 * `performance.now()` clock of this process) and a message index (u32), so a consumer in the same
 * process measures publish→receive latency and counts distinct messages.
 */

/** Smallest payload that holds the header. */
export const PAYLOAD_HEADER_BYTES = 16;

/** A payload of `sizeBytes` (at least 16) stamped with `index` and `sentMs`. */
export function makePayload(sizeBytes: number, index: number, sentMs = performance.now()): Uint8Array {
  const bytes = new Uint8Array(Math.max(PAYLOAD_HEADER_BYTES, sizeBytes));
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, sentMs, true);
  view.setUint32(8, index, true);
  bytes.fill(0x61, PAYLOAD_HEADER_BYTES);
  return bytes;
}

/** The timestamp and index stamped by {@link makePayload}. */
export function readPayload(bytes: Uint8Array): { sentMs: number; index: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { sentMs: view.getFloat64(0, true), index: view.getUint32(8, true) };
}

/** Counts distinct message indexes (a redelivered message counts once); grows as needed. */
export class SeenSet {
  #bits: Uint8Array;
  #distinct = 0;
  #duplicates = 0;
  /** `capacity`: the expected largest index + 1 (a hint). */
  constructor(capacity: number) {
    this.#bits = new Uint8Array(Math.max(1, Math.ceil(capacity / 8)));
  }
  /** Marks `index`; returns true the first time. */
  add(index: number): boolean {
    const byte = index >>> 3;
    const bit = 1 << (index & 7);
    if (byte >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    if ((this.#bits[byte]! & bit) !== 0) {
      this.#duplicates++;
      return false;
    }
    this.#bits[byte]! |= bit;
    this.#distinct++;
    return true;
  }
  get distinct(): number {
    return this.#distinct;
  }
  get duplicates(): number {
    return this.#duplicates;
  }
}
