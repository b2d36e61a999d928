/**
 * Protobuf base-128 varints as protobuf-es writes them (minimal length), for the hand-written
 * encoders of the lean path (publish-codec.ts, delivery-encoder.ts).
 */

/** Bytes of `v` (0 ≤ v < 2^32) as a varint. */
export function varint32Size(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x20_0000) return 3;
  if (v < 0x1000_0000) return 4;
  return 5;
}

/** Bytes of `v` (0 ≤ v < 2^64) as a varint. */
export function varint64Size(v: bigint): number {
  if (v <= 0xffff_ffffn) return varint32Size(Number(v));
  let n = 5;
  for (let rest = v >> 35n; rest > 0n; rest >>= 7n) n++;
  return n;
}

/** Writes `v` (0 ≤ v < 2^32) at `pos`; returns the position after it. */
export function writeVarint32(out: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/** Writes `v` (0 ≤ v < 2^64) at `pos`; returns the position after it. */
export function writeVarint64(out: Buffer, pos: number, v: bigint): number {
  if (v <= 0xffff_ffffn) return writeVarint32(out, pos, Number(v));
  while (v > 0x7fn) {
    out[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[pos++] = Number(v);
  return pos;
}
