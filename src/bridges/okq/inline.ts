/** Inline (telnet-style) commands, split the way Redis splits them. */

const SPACE = new Set([0x20, 0x09, 0x0d, 0x0b, 0x0c]);

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const ESCAPES: Record<number, number> = { 110: 0x0a, 114: 0x0d, 116: 0x09, 98: 0x08, 97: 0x07 };

/**
 * Splits an inline command like Redis' `sdssplitargs`: arguments separated by blanks, optionally
 * in double quotes (with `\n \r \t \b \a \xHH` and `\\"` escapes) or single quotes (`\'`).
 * Undefined for unbalanced quotes or a closing quote not followed by a blank.
 */
export function splitInline(line: Buffer): Buffer[] | undefined {
  const args: Buffer[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && SPACE.has(line[i] as number)) i++;
    if (i >= n) return args;
    const quote = line[i] === 0x22 ? 0x22 : line[i] === 0x27 ? 0x27 : 0;
    if (quote === 0) {
      const start = i;
      while (i < n && !SPACE.has(line[i] as number)) i++;
      args.push(Buffer.from(line.subarray(start, i)));
      continue;
    }
    i++;
    const bytes: number[] = [];
    for (;;) {
      if (i >= n) return undefined;
      const c = line[i] as number;
      if (c === quote) {
        i++;
        if (i < n && !SPACE.has(line[i] as number)) return undefined;
        break;
      }
      if (c === 0x5c /* \ */ && i + 1 < n) {
        const e = line[i + 1] as number;
        if (quote === 0x22 && e === 0x78 /* x */ && i + 3 < n) {
          const hi = hexValue(line[i + 2] as number);
          const lo = hexValue(line[i + 3] as number);
          if (hi >= 0 && lo >= 0) {
            bytes.push(hi * 16 + lo);
            i += 4;
            continue;
          }
        }
        if (quote === 0x22) {
          bytes.push(ESCAPES[e] ?? e);
          i += 2;
          continue;
        }
        if (e === 0x27) {
          bytes.push(0x27);
          i += 2;
          continue;
        }
      }
      bytes.push(c);
      i++;
    }
    args.push(Buffer.from(bytes));
  }
}
