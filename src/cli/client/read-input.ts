import { createReadStream } from "node:fs";
import { UsageError } from "./cli-error.js";

/** Largest input `pub` reads as one message, or as one line: the server's largest batch (16 MiB). */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/** Opens `--file` (`-` is stdin) or stdin as a byte stream. */
export function openInput(file: string | undefined, stdin: () => NodeJS.ReadableStream): AsyncIterable<Uint8Array> {
  if (file === undefined || file === "-") return stdin() as AsyncIterable<Uint8Array>;
  return createReadStream(file);
}

/** Reads a whole input into one buffer, refusing more than `maxBytes`. */
export async function readAll(input: AsyncIterable<Uint8Array>, maxBytes = MAX_INPUT_BYTES): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += bytes.byteLength;
    if (size > maxBytes) throw new UsageError(`the input is larger than ${maxBytes} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/**
 * Splits an input into lines (LF, with a CR before it removed), without the line ends. Empty
 * lines are skipped. A line longer than `maxLineBytes` fails with a {@link UsageError}; memory
 * stays bounded by that and one chunk.
 */
export async function* readLines(
  input: AsyncIterable<Uint8Array>,
  maxLineBytes = MAX_INPUT_BYTES,
): AsyncGenerator<Uint8Array> {
  let pending: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  const finish = (line: Buffer): Buffer | undefined => {
    lineNo++;
    const trimmed = line.at(-1) === 0x0d ? line.subarray(0, -1) : line;
    return trimmed.byteLength === 0 ? undefined : trimmed;
  };
  for await (const chunk of input) {
    let buf: Buffer = pending.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a)) {
      const line = finish(buf.subarray(0, nl));
      buf = buf.subarray(nl + 1);
      if (line) yield Buffer.from(line);
    }
    if (buf.byteLength > maxLineBytes) {
      throw new UsageError(`line ${lineNo + 1} is longer than ${maxLineBytes} bytes`);
    }
    pending = buf;
  }
  if (pending.byteLength > 0) {
    const line = finish(pending);
    if (line) yield line;
  }
}
