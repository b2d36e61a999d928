/**
 * Whether Go's `multipart.Reader.ReadForm` (Go 1.21, as `Request.ParseMultipartForm` calls it)
 * reads a body without an error (docs/gophermq.md "Request bodies"). GopherMQ's request structs
 * have no form tags, so a multipart body binds nothing; but when Go fails to read it, Echo's
 * binder answers 400, and so does the bridge. Only validity is computed; nothing is kept.
 */

const LF = Buffer.from("\n");
const CRLF = Buffer.from("\r\n");

/** Go's `bufio` buffer of the multipart reader: a preamble or boundary line must fit in it. */
const LINE_BUFFER_BYTES = 4096;
/** Go's default `multipartmaxparts`. */
const MAX_PARTS = 1000;
/** Go's default `multipartmaxheaders`, over the whole form. */
const MAX_HEADERS = 10_000;

const isLwsp = (c: number | undefined) => c === 0x20 || c === 0x09;

/** RFC 7230 `tchar`: what Go accepts in a header name (besides a space before the colon). */
const isTokenByte = (c: number) =>
  (c >= 0x30 && c <= 0x39) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));

/** Go's `validHeaderValueByte`: HTAB, SP, VCHAR and obs-text. */
const isValueByte = (c: number) => c === 0x09 || (c >= 0x20 && c !== 0x7f);

function skipLwsp(b: Buffer): Buffer {
  let i = 0;
  while (isLwsp(b[i])) i++;
  return b.subarray(i);
}

/** Go's `textproto` `trim`: ASCII spaces, tabs, CR and LF off both ends. */
function trimAscii(b: Buffer): Buffer {
  let start = 0;
  let end = b.length;
  const space = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  while (start < end && space(b[start])) start++;
  while (end > start && space(b[end - 1])) end--;
  return b.subarray(start, end);
}

/** A reader over the whole body, in the states Go's multipart reader goes through. */
class MultipartScan {
  private pos = 0;
  private nl = CRLF;
  private partsRead = 0;
  private readonly dash: Buffer;
  private readonly dashDash: Buffer;

  constructor(
    private readonly body: Buffer,
    boundary: Buffer,
  ) {
    this.dash = Buffer.concat([Buffer.from("--"), boundary]);
    this.dashDash = Buffer.concat([this.dash, Buffer.from("--")]);
  }

  /** `bufio.Reader.ReadSlice('\n')`: the line with its `\n`; `eof` when the body ends first; undefined when the buffer fills. */
  private readSlice(): { line: Buffer; eof: boolean } | undefined {
    const at = this.body.indexOf(0x0a, this.pos);
    const start = this.pos;
    if (at >= 0 && at - start + 1 <= LINE_BUFFER_BYTES) {
      this.pos = at + 1;
      return { line: this.body.subarray(start, at + 1), eof: false };
    }
    if (at >= 0 || this.body.length - start >= LINE_BUFFER_BYTES) return undefined;
    this.pos = this.body.length;
    return { line: this.body.subarray(start), eof: true };
  }

  private isFinalBoundary(line: Buffer): boolean {
    if (!line.subarray(0, this.dashDash.length).equals(this.dashDash)) return false;
    const rest = skipLwsp(line.subarray(this.dashDash.length));
    return rest.length === 0 || rest.equals(this.nl);
  }

  private isBoundaryDelimiterLine(line: Buffer): boolean {
    if (!line.subarray(0, this.dash.length).equals(this.dash)) return false;
    const rest = skipLwsp(line.subarray(this.dash.length));
    // A first boundary line ending in a bare LF switches the reader to LF line ends, as Go does.
    if (this.partsRead === 0 && rest.length === 1 && rest[0] === 0x0a) this.nl = LF;
    return rest.equals(this.nl);
  }

  /** Go's `nextPart` up to the part's header: "part", "end" (the closing boundary) or "error". */
  nextPart(): "part" | "end" | "error" {
    let expectNewPart = false;
    for (;;) {
      const read = this.readSlice();
      if (!read) return "error"; // bufio.ErrBufferFull
      const { line, eof } = read;
      if (eof) return this.isFinalBoundary(line) ? "end" : "error";
      if (this.isBoundaryDelimiterLine(line)) {
        this.partsRead++;
        return "part";
      }
      if (this.isFinalBoundary(line)) return "end";
      if (expectNewPart) return "error";
      if (this.partsRead === 0) continue; // the preamble
      if (line.equals(this.nl)) {
        expectNewPart = true;
        continue;
      }
      return "error";
    }
  }

  /** `bufio.Reader.ReadLine`: a line without its `\n` (or `\r\n`); undefined at the end of the body. */
  private readLine(): Buffer | undefined {
    if (this.pos >= this.body.length) return undefined;
    const at = this.body.indexOf(0x0a, this.pos);
    const start = this.pos;
    if (at < 0) {
      this.pos = this.body.length;
      return this.body.subarray(start);
    }
    this.pos = at + 1;
    return this.body.subarray(start, at > start && this.body[at - 1] === 0x0d ? at - 1 : at);
  }

  /**
   * Go's `textproto.Reader.ReadMIMEHeader` of a part, with Go 1.21's checks: no leading space,
   * a colon on every line, token names (a space before the colon is tolerated), no control
   * characters in values, a blank line at the end, and at most `headersLeft` fields. Returns the
   * number of distinct names, or -1 for an error.
   */
  readHeader(headersLeft: number): number {
    if (isLwsp(this.body[this.pos])) return -1;
    const names = new Set<string>();
    let left = headersLeft;
    for (;;) {
      const first = this.readLine();
      if (first === undefined) return -1; // the body ended before the blank line
      if (first.length === 0) return names.size;
      if (!first.includes(0x3a)) return -1;
      const pieces = [trimAscii(first)];
      while (isLwsp(this.body[this.pos])) {
        while (isLwsp(this.body[this.pos])) this.pos++;
        pieces.push(Buffer.from(" "));
        const more = this.readLine();
        if (more === undefined) break;
        pieces.push(trimAscii(more));
      }
      const kv = Buffer.concat(pieces);
      const colon = kv.indexOf(0x3a);
      const key = kv.subarray(0, colon);
      if (!key.every((c) => isTokenByte(c) || c === 0x20)) return -1;
      if (!kv.subarray(colon + 1).every(isValueByte)) return -1;
      if (key.length === 0) continue; // Go skips an empty name
      if (--left < 0) return -1;
      const name = key.toString("latin1");
      names.add(name.includes(" ") ? name : name.toLowerCase());
    }
  }

  /**
   * Skips a part's content as Go's part reader does: it ends before the first `\r\n--boundary`
   * (or `--boundary` right at its start) that is followed by a space, tab, CR, LF, `-` or the end
   * of the body. False when no such boundary comes (Go: unexpected EOF).
   */
  skipContent(): boolean {
    const start = this.pos;
    const dash = this.dash;
    if (this.body.subarray(start, start + dash.length).equals(dash) && this.endsBoundary(start + dash.length)) {
      return true;
    }
    const nlDash = Buffer.concat([this.nl, dash]);
    let from = this.body.subarray(start, start + dash.length).equals(dash) ? start + dash.length : start;
    for (;;) {
      const at = this.body.indexOf(nlDash, from);
      if (at < 0) return false;
      if (this.endsBoundary(at + nlDash.length)) {
        this.pos = at;
        return true;
      }
      from = at + nlDash.length;
    }
  }

  /** Go's `matchAfterPrefix`: the byte after a boundary prefix makes it a boundary. */
  private endsBoundary(after: number): boolean {
    if (after >= this.body.length) return true;
    const c = this.body[after] as number;
    return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x2d;
  }
}

/**
 * True when Go's `ReadForm` reads `body` as a `multipart/form-data` body with `boundary` (raw
 * bytes as latin1) without an error: the preamble is skipped, every part has a well-formed
 * header and ends at a boundary, and a closing `--boundary--` comes; at most 1000 parts and
 * 10,000 header fields. Quoted-printable parts are not decoded, so their decoding errors are not
 * seen (docs/gophermq.md).
 */
export function multipartFormParses(body: Buffer, boundary: string): boolean {
  if (boundary === "") return false; // Go: "multipart: boundary is empty"
  const scan = new MultipartScan(body, Buffer.from(boundary, "latin1"));
  let parts = 0;
  let headersLeft = MAX_HEADERS;
  for (;;) {
    const next = scan.nextPart();
    if (next !== "part") return next === "end";
    const names = scan.readHeader(headersLeft);
    if (names < 0) return false;
    if (++parts > MAX_PARTS) return false;
    headersLeft -= names;
    if (!scan.skipContent()) return false;
  }
}
