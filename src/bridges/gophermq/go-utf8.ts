/**
 * UTF-8 as Go's `unicode/utf8` reads it (docs/gophermq.md "Bytes on the wire"): a sequence is
 * valid only in its shortest form and outside the UTF-16 surrogates, and each byte of an invalid
 * sequence counts alone (one U+FFFD per byte, where WHATWG decoding may give one per sequence).
 */

/** The UTF-8 bytes of U+FFFD, Go's `utf8.RuneError`. */
const REPLACEMENT = [0xef, 0xbf, 0xbd] as const;

const isCont = (c: number | undefined, lo = 0x80, hi = 0xbf) => c !== undefined && c >= lo && c <= hi;

/** How many bytes the valid UTF-8 sequence at `i` has (Go's `utf8.DecodeRune`), or 0 when invalid. */
export function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c0 = b[i] as number;
  if (c0 < 0x80) return 1;
  if (c0 < 0xc2) return 0;
  if (c0 <= 0xdf) return isCont(b[i + 1]) ? 2 : 0;
  if (c0 <= 0xef) {
    // No overlong forms (E0 A0..) and no UTF-16 surrogates (ED ..9F), as Go decodes.
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    return isCont(b[i + 1], lo, hi) && isCont(b[i + 2]) ? 3 : 0;
  }
  if (c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    return isCont(b[i + 1], lo, hi) && isCont(b[i + 2]) && isCont(b[i + 3]) ? 4 : 0;
  }
  return 0;
}

/** A view of `bytes` as a Buffer, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes bytes as Go turns JSON text into strings: valid UTF-8 as it is, every byte of an
 * invalid sequence as U+FFFD. Linear: valid input is decoded as it is; otherwise one pass counts
 * the invalid bytes, a second copies the valid runs and the replacements into one buffer of the
 * exact size, and that buffer is decoded once.
 */
export function decodeUtf8LikeGo(body: Uint8Array): string {
  const buf = asBuffer(body);
  let invalid = 0;
  for (let i = 0; i < buf.length; ) {
    if ((buf[i] as number) < 0x80) {
      i++;
      continue;
    }
    const width = utf8SequenceLength(buf, i);
    if (width === 0) invalid++;
    i += width || 1;
  }
  if (invalid === 0) return buf.toString("utf8");
  const out = Buffer.allocUnsafe(buf.length + 2 * invalid);
  let at = 0;
  let run = 0; // start of the pending run of valid bytes
  for (let i = 0; i < buf.length; ) {
    const width = (buf[i] as number) < 0x80 ? 1 : utf8SequenceLength(buf, i);
    if (width > 0) {
      i += width;
      continue;
    }
    at += buf.copy(out, at, run, i);
    out[at++] = REPLACEMENT[0];
    out[at++] = REPLACEMENT[1];
    out[at++] = REPLACEMENT[2];
    i++;
    run = i;
  }
  at += buf.copy(out, at, run, buf.length);
  return out.toString("utf8", 0, at);
}
