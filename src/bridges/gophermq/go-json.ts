/**
 * JSON as GopherMQ writes it (docs/gophermq.md "Bytes on the wire"): Go's `encoding/json` encoder
 * with HTML escaping on, which is what Echo's `c.JSON` uses. Object keys sorted (Go map order),
 * compact unless `pretty` (two-space indent, Go's `SetIndent("", "  ")`), and one trailing newline.
 */

/** A value the GopherMQ bridge renders: text, raw message bytes, lists of them, or objects. */
export type GoJsonValue = string | Uint8Array | readonly (string | Uint8Array)[] | { [key: string]: GoJsonValue };

const HEX = "0123456789abcdef";

/** How many bytes the valid UTF-8 sequence at `i` has (Go's `utf8.DecodeRune`), or 0 when invalid. */
export function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c0 = b[i] as number;
  if (c0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const c = b[i + k];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(1) ? 2 : 0;
  if (c0 >= 0xe0 && c0 <= 0xef) {
    // No overlong forms (E0 A0..) and no UTF-16 surrogates (ED ..9F), as Go decodes.
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * The JSON string literal Go writes for these bytes: `"` and `\` escaped, `\n` `\r` `\t` short,
 * other control characters as `\u00XX`, `<` `>` `&` as `\u003c` `\u003e` `\u0026`, U+2028 and
 * U+2029 as `\u2028` `\u2029`, and each byte that is not valid UTF-8 as `\ufffd`.
 */
export function goJsonString(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '"';
  let run = 0; // start of the pending run of bytes copied as they are
  let i = 0;
  while (i < buf.length) {
    const c = buf[i] as number;
    let replacement: string | undefined;
    let width = 1;
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) {
        i++;
        continue;
      }
      if (c === 0x22) replacement = '\\"';
      else if (c === 0x5c) replacement = "\\\\";
      else if (c === 0x0a) replacement = "\\n";
      else if (c === 0x0d) replacement = "\\r";
      else if (c === 0x09) replacement = "\\t";
      else replacement = `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
    } else {
      width = utf8SequenceLength(buf, i);
      if (width === 0) {
        replacement = "\\ufffd";
        width = 1;
      } else if (width === 3 && c === 0xe2 && buf[i + 1] === 0x80 && (buf[i + 2] === 0xa8 || buf[i + 2] === 0xa9)) {
        replacement = buf[i + 2] === 0xa8 ? "\\u2028" : "\\u2029";
      } else {
        i += width;
        continue;
      }
    }
    if (run < i) out += buf.toString("utf8", run, i);
    out += replacement;
    i += width;
    run = i;
  }
  if (run < buf.length) out += buf.toString("utf8", run, buf.length);
  return `${out}"`;
}

function encodeText(value: string | Uint8Array): string {
  return goJsonString(typeof value === "string" ? Buffer.from(value, "utf8") : value);
}

function encode(value: GoJsonValue, indent: string, pretty: boolean): string {
  if (typeof value === "string" || value instanceof Uint8Array) return encodeText(value);
  const inner = `${indent}  `;
  const nl = pretty ? "\n" : "";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((v) => `${pretty ? inner : ""}${encodeText(v)}`);
    return `[${nl}${items.join(`,${nl}`)}${nl}${pretty ? indent : ""}]`;
  }
  const object = value as { [key: string]: GoJsonValue };
  // Go sorts map keys by their bytes; every key the bridge writes is ASCII.
  const keys = Object.keys(object).sort();
  if (keys.length === 0) return "{}";
  const members = keys.map(
    (k) =>
      `${pretty ? inner : ""}${encodeText(k)}:${pretty ? " " : ""}${encode(object[k] as GoJsonValue, inner, pretty)}`,
  );
  return `{${nl}${members.join(`,${nl}`)}${nl}${pretty ? indent : ""}}`;
}

/** The body Echo's `c.JSON` sends for `value`: Go's encoding plus `\n`, indented when `pretty`. */
export function goJsonBody(value: GoJsonValue, pretty = false): Buffer {
  return Buffer.from(`${encode(value, "", pretty)}\n`, "utf8");
}
