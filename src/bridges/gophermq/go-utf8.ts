/**
 * UTF-8 as Go's `unicode/utf8` reads it (docs/gophermq.md "Bytes on the wire"): a sequence is
 * valid only in its shortest form and outside the UTF-16 surrogates, and each byte of an invalid
 * sequence counts alone (one U+FFFD per byte, where WHATWG decoding may give one per sequence).
 */
import { isUtf8 } from "node:buffer";

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
 * invalid sequence as U+FFFD. Linear: valid UTF-8 (checked natively; its rules are Go's) is
 * decoded at once; otherwise one pass decodes every sequence into UTF-16 code units in one
 * buffer (at most one unit per byte), which is turned into the string once.
 */
export function decodeUtf8LikeGo(body: Uint8Array): string {
  const buf = asBuffer(body);
  if (isUtf8(buf)) return buf.toString("utf8");
  const raw = Buffer.allocUnsafe(2 * buf.length);
  const units = new Uint16Array(raw.buffer, raw.byteOffset, buf.length);
  let n = 0;
  for (let i = 0; i < buf.length; ) {
    const c0 = buf[i] as number;
    if (c0 < 0x80) {
      units[n++] = c0;
      i++;
      continue;
    }
    const width = utf8SequenceLength(buf, i);
    if (width === 0) {
      units[n++] = 0xfffd;
      i++;
      continue;
    }
    const c1 = (buf[i + 1] as number) & 0x3f;
    if (width === 2) units[n++] = ((c0 & 0x1f) << 6) | c1;
    else {
      const c2 = (buf[i + 2] as number) & 0x3f;
      if (width === 3) units[n++] = ((c0 & 0x0f) << 12) | (c1 << 6) | c2;
      else {
        const cp = (((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | ((buf[i + 3] as number) & 0x3f)) - 0x10000;
        units[n++] = 0xd800 | (cp >> 10);
        units[n++] = 0xdc00 | (cp & 0x3ff);
      }
    }
    i += width;
  }
  // Code units in the platform's byte order, which is little-endian wherever Node runs.
  return raw.toString("utf16le", 0, 2 * n);
}
