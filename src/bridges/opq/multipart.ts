/**
 * A `multipart/form-data` body (RFC 7578) read as OPQ's Go server read it (`ParseMultipartForm`):
 * every `form-data` part with a `name` and no file name is a form value (an empty `filename=""`,
 * what a browser sends for an empty file field, is no file name); file parts, parts without a
 * name and parts of another disposition are skipped. The body is already in memory (bounded by the
 * caller), so this is a plain scan.
 */

/** A malformed multipart body; the message says what is wrong. */
export class MultipartError extends Error {
  override name = "MultipartError";
}

/** Most parts one body may have (Go's `multipart` reader has the same bound). */
export const MAX_PARTS = 1000;
/** Most bytes of one part's header block. */
const MAX_PART_HEADER_BYTES = 16 * 1024;

/**
 * The `boundary` parameter of a `multipart/form-data` content type, or undefined when the type is
 * not multipart/form-data. Throws when it is, but without a usable boundary.
 */
export function multipartBoundary(contentType: string): string | undefined {
  const [type = "", ...params] = contentType.split(";");
  if (type.trim().toLowerCase() !== "multipart/form-data") return undefined;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (value.length === 0 || value.length > 70) break;
    return value;
  }
  throw new MultipartError("multipart/form-data without a boundary");
}

/** The parameters of a `Content-Disposition` value (names lower case), quoted strings unescaped. */
export function dispositionParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))/g;
  for (const m of value.matchAll(re)) {
    const name = (m[1] ?? "").toLowerCase();
    const raw = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    if (!params.has(name)) params.set(name, raw);
  }
  return params;
}

/**
 * True when a part's Content-Disposition names a file, as Go's `Part.FileName() != ""`: a valid
 * RFC 2231 `filename*` (UTF-8 or US-ASCII) decides, else `filename`; an empty name is no file.
 */
function namesFile(params: Map<string, string>): boolean {
  const star = params.get("filename*");
  if (star !== undefined) {
    const [charset = "", , ...rest] = star.split("'");
    const encoded = rest.join("'");
    const known = charset.toLowerCase() === "utf-8" || charset.toLowerCase() === "us-ascii";
    if (rest.length > 0 && known && !/%(?![0-9A-Fa-f]{2})/.test(encoded)) return encoded !== "";
  }
  return (params.get("filename") ?? "") !== "";
}

/** The index of the line end at `from` (CRLF or LF), with its length; undefined if neither is there. */
function lineEndAt(body: Buffer, from: number): number {
  if (body[from] === 0x0d && body[from + 1] === 0x0a) return 2;
  if (body[from] === 0x0a) return 1;
  return 0;
}

/**
 * The form values of a multipart body, in order, as byte strings (latin1: one char per byte):
 * `[name, value]` pairs. Throws {@link MultipartError} for a body that does not parse.
 */
export function parseMultipart(body: Buffer, boundary: string): [string, string][] {
  const dashBoundary = Buffer.from(`--${boundary}`, "latin1");
  const out: [string, string][] = [];
  // The first delimiter may come after a preamble; it must start a line.
  let at = body.indexOf(dashBoundary);
  while (at > 0 && body[at - 1] !== 0x0a) at = body.indexOf(dashBoundary, at + 1);
  if (at < 0) throw new MultipartError("no multipart boundary in the body");
  let parts = 0;
  for (;;) {
    let pos = at + dashBoundary.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return out; // the closing delimiter
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++; // transport padding
    const eol = lineEndAt(body, pos);
    if (eol === 0) throw new MultipartError("a multipart boundary line does not end");
    pos += eol;
    if (++parts > MAX_PARTS) throw new MultipartError(`more than ${MAX_PARTS} multipart parts`);
    // Headers: lines up to an empty line.
    const headers = new Map<string, string>();
    for (;;) {
      const end = lineEndAt(body, pos);
      if (end > 0) {
        pos += end;
        break;
      }
      const nl = body.indexOf(0x0a, pos);
      if (nl < 0) throw new MultipartError("a multipart part's headers do not end");
      if (nl - pos > MAX_PART_HEADER_BYTES) throw new MultipartError("a multipart part header is too long");
      const line = body.toString("latin1", pos, body[nl - 1] === 0x0d ? nl - 1 : nl);
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      pos = nl + 1;
    }
    // The content runs to the next delimiter, which starts a line (the line end belongs to it).
    let next = body.indexOf(dashBoundary, pos);
    while (next >= 0 && body[next - 1] !== 0x0a) next = body.indexOf(dashBoundary, next + 1);
    if (next < 0) throw new MultipartError("a multipart part does not end (no closing boundary)");
    const contentEnd = next >= pos + 2 && body[next - 2] === 0x0d ? next - 2 : next - 1;
    const dispositionValue = headers.get("content-disposition") ?? "";
    const isFormData = (dispositionValue.split(";")[0] ?? "").trim().toLowerCase() === "form-data";
    const disposition = dispositionParams(dispositionValue);
    const name = disposition.get("name");
    if (isFormData && name !== undefined && name !== "" && !namesFile(disposition)) {
      out.push([name, body.toString("latin1", pos, Math.max(pos, contentEnd))]);
    }
    at = next;
  }
}
