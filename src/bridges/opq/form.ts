import type { IncomingMessage } from "node:http";
import { parseQueryInto } from "../../util/index.js";
import { MultipartError, multipartBoundary, parseMultipart } from "./multipart.js";

/**
 * A request's form as OPQ's Go server saw it (`r.Form` after `ParseMultipartForm`): field name
 * to values, in arrival order, as byte strings (latin1: one char per byte, so any bytes survive).
 */
export type Form = Map<string, string[]>;

/** OPQ's form limit (`ParseMultipartForm(10 MiB)`, Go's `maxFormSize`). */
export const MAX_FORM_BYTES = 10 * 1024 * 1024;

/** Why a request's body could not be read: `too-large` (413) or `busy` (503: the bridge's body budget is spent). */
export class FormError extends Error {
  override name = "FormError";
  constructor(
    readonly kind: "too-large" | "busy",
    message: string,
  ) {
    super(message);
  }
}

/** Bytes of request bodies held in memory across all requests, with a cap. */
export interface BodyBudget {
  /** Takes `bytes` from the budget; false (and nothing taken) when it would go over. */
  take(bytes: number): boolean;
  give(bytes: number): void;
}

/** A {@link BodyBudget} of `maxBytes`. */
export function createBodyBudget(maxBytes: number): BodyBudget {
  let used = 0;
  return {
    take(bytes) {
      if (used + bytes > maxBytes) return false;
      used += bytes;
      return true;
    },
    give(bytes) {
      used -= bytes;
    },
  };
}

/**
 * Reads a request body of at most {@link MAX_FORM_BYTES} into memory, held against `budget` until
 * `release` is called. Rejects with {@link FormError} `too-large` past the limit, or `busy` when
 * the budget is spent (the caller answers and closes the connection).
 */
export async function readBody(req: IncomingMessage, budget: BodyBudget): Promise<{ body: Buffer; release(): void }> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > MAX_FORM_BYTES) throw new FormError("too-large", `the form is over ${MAX_FORM_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (length + chunk.length > MAX_FORM_BYTES) {
        throw new FormError("too-large", `the form is over ${MAX_FORM_BYTES} bytes`);
      }
      if (!budget.take(chunk.length)) throw new FormError("busy", "too many large requests at once");
      length += chunk.length;
      chunks.push(chunk);
    }
  } catch (e) {
    budget.give(length);
    throw e;
  }
  let released = false;
  return {
    body: Buffer.concat(chunks, length),
    release() {
      if (released) return;
      released = true;
      budget.give(length);
    },
  };
}

/** The media type of a Content-Type value, lower case without parameters. */
function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/**
 * The form of a POST as Go's `ParseMultipartForm` builds it: a url-encoded body's fields first,
 * then the query string's; for multipart the query string's first, then the parts'. Other
 * content types contribute no fields. A multipart body that does not parse (no boundary, no
 * closing delimiter, too many parts, …) contributes none either: Go's `ParseMultipartForm`
 * returns an error then, which OPQ ignored, going on with the query string's fields.
 */
export function parseForm(rawQuery: string, contentType: string, body: Buffer): Form {
  const form: Form = new Map();
  const type = mediaType(contentType);
  if (type === "application/x-www-form-urlencoded") {
    parseQueryInto(form, body.toString("latin1"));
    parseQueryInto(form, rawQuery);
    return form;
  }
  parseQueryInto(form, rawQuery);
  let parts: [string, string][];
  try {
    const boundary = multipartBoundary(contentType);
    if (boundary === undefined) return form;
    parts = parseMultipart(body, boundary);
  } catch (e) {
    if (e instanceof MultipartError) return form;
    throw e;
  }
  for (const [name, value] of parts) {
    const list = form.get(name);
    if (list) list.push(value);
    else form.set(name, [value]);
  }
  return form;
}
