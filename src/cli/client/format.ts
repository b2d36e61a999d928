import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

/**
 * Human output of the client commands: aligned tables, `key: value` blocks, and message data
 * shown as text when it is printable. JSON output is proto3 JSON (what Connect's JSON clients
 * see), so scripts get the same field names as the API.
 */

/** Columns separated by two spaces, padded to the widest cell; a header row first. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** `key: value` lines with the values aligned; undefined values are left out. */
export function formatFields(fields: readonly (readonly [string, string | undefined])[]): string {
  const shown = fields.filter((f): f is readonly [string, string] => f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}\n`).join("");
}

/** proto3 JSON of a message, as one line (int64 as strings, bytes as base64, enum names). */
export function jsonLine<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): string {
  return `${JSON.stringify(toJson(schema, message))}\n`;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Data as text for a table cell: the UTF-8 text with control characters escaped, cut to
 * `maxChars`; `<N bytes>` when it is not UTF-8.
 */
export function dataPreview(data: Uint8Array, maxChars = 60): string {
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return `<${data.byteLength} bytes>`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  return escaped.length > maxChars ? `${escaped.slice(0, maxChars - 1)}…` : escaped;
}

/** A timestamp as ISO 8601, or `-` when unset. */
export function formatTime(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString() : "-";
}

/** A uint64 setting where 0 means "none": `-` for 0. */
export function orDash(value: bigint | number | string | undefined): string {
  if (value === undefined || value === 0 || value === 0n || value === "") return "-";
  return String(value);
}

/** `yes` / `no`. */
export function yesNo(value: boolean): string {
  return value ? "yes" : "no";
}

/** `k=v,k2=v2`, or `-` when empty. */
export function formatMap(map: Readonly<Record<string, string>>): string {
  const entries = Object.entries(map);
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

/** A duration in ms as `1.5s`, `2m3s`, … (`-` for 0). */
export function formatMs(ms: bigint | number): string {
  const n = Number(ms);
  if (n === 0) return "-";
  if (n < 1000) return `${n}ms`;
  if (n < 60_000) return `${+(n / 1000).toFixed(1)}s`;
  if (n < 3_600_000) return `${Math.floor(n / 60_000)}m${Math.round((n % 60_000) / 1000)}s`;
  return `${Math.floor(n / 3_600_000)}h${Math.round((n % 3_600_000) / 60_000)}m`;
}
