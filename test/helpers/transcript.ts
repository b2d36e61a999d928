/**
 * Golden C:/S: transcripts (test/transcripts/<dialect>/*.txt), replayed against a live
 * connection. Lines:
 *   `# ...`        a comment (blank lines are ignored too)
 *   `C> A B C`     a command sent as a RESP array of bulk strings (arguments split on spaces)
 *   `C: bytes`     raw bytes sent as they are (escapes below)
 *   `S: bytes`     bytes the server must answer, exactly (escapes below)
 *   `S: <closed>`  the server closes the connection
 * Escapes: \r \n \t \\ \xHH. Trailing whitespace is not part of a line.
 * Line-based dialects (ohpq) pass `lineEnding: "\n"`: it is appended to every `C:` and `S:` line
 * (a bare `C:` then sends an empty line).
 */
import { readFileSync } from "node:fs";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import type { RawClient } from "./okq-harness.js";

export type TranscriptStep = { send: Buffer } | { expect: Buffer } | { closed: true };

function unescapeBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== "\\" || i + 1 >= s.length) {
      out.push(...Buffer.from(c));
      continue;
    }
    const e = s[++i];
    if (e === "r") out.push(13);
    else if (e === "n") out.push(10);
    else if (e === "t") out.push(9);
    else if (e === "\\") out.push(92);
    else if (e === "x") {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`bad escape \\${e}`);
  }
  return Buffer.from(out);
}

/** Parses a transcript file; `lineEnding` ends every `C:` and `S:` line (text dialects). */
export function parseTranscript(path: string, options: { lineEnding?: string } = {}): TranscriptStep[] {
  const steps: TranscriptStep[] = [];
  const end = Buffer.from(options.lineEnding ?? "");
  const unescapeLine = (s: string) => Buffer.concat([unescapeBytes(s), end]);
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || line.startsWith("#")) continue;
    const body = line.slice(3);
    if (line.startsWith("C> ")) steps.push({ send: encodeCommand(body.split(" ").map((a) => unescapeBytes(a))) });
    else if (line.startsWith("C: ")) steps.push({ send: unescapeLine(body) });
    else if (line === "C:") steps.push({ send: unescapeLine("") });
    else if (line === "S: <closed>") steps.push({ closed: true });
    else if (line.startsWith("S: ")) steps.push({ expect: unescapeLine(body) });
    else throw new Error(`${path}: cannot parse line ${JSON.stringify(line)}`);
  }
  return steps;
}

/**
 * Replays a transcript. `byteByByte` sends every request one byte at a time (each byte its own
 * write), which must not change a single reply byte.
 */
export async function replayTranscript(
  client: RawClient,
  steps: TranscriptStep[],
  options: { byteByByte?: boolean } = {},
): Promise<void> {
  for (const step of steps) {
    if ("send" in step) {
      if (!options.byteByByte) client.send(step.send);
      else for (const b of step.send) client.send(Buffer.of(b));
    } else if ("expect" in step) await client.expect(step.expect);
    else await client.closed();
  }
}
