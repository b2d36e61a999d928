import { create } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { PublishResponseSchema, PublishResultSchema } from "../../../gen/switchyard/v1/publisher_pb.js";
import { writeOut } from "../cli-io.js";
import { type ClientContext, clientAction } from "../client/action.js";
import { UsageError } from "../client/cli-error.js";
import { addConnectionOptions } from "../client/connection.js";
import { jsonLine } from "../client/format.js";
import { integerFlag, keyValueFlag, uint64Flag } from "../client/parse.js";
import { openInput, readAll, readLines } from "../client/read-input.js";
import type { CommandDeps } from "./deps.js";
import { publishCount } from "./pub-count.js";

/** `pub`'s flags. */
export interface PubFlags {
  file?: string;
  lines: boolean;
  attr?: Record<string, string>;
  priority?: number;
  id?: string;
  orderingKey?: string;
  delayMs?: bigint;
  ttlMs?: bigint;
  count?: number;
  batchSize: number;
  inFlight: number;
}

/** A message to publish, without its data (the fields of `PublishMessage`). */
export interface MessageTemplate {
  attributes?: Record<string, string>;
  priority?: number;
  id?: string;
  orderingKey?: string;
  delayMs?: bigint;
  ttlMs?: bigint;
}

/** Bytes of data collected into one Publish by `--lines` before it is sent. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** `switchyard pub TOPIC [DATA]`. */
export function pubCommand({ io, state }: CommandDeps): Command {
  return addConnectionOptions(
    new Command("pub")
      .description("publish a message (DATA, --file or stdin), one per line with --lines, or a quick load with --count")
      .argument("<topic>")
      .argument("[data]", "message data as text (default: read --file or stdin)")
      .option("--file <path>", "read the data from a file (- for stdin)")
      .option("--lines", "one message per line of the input (empty lines are skipped)", false)
      .addOption(new Option("--attr <key=value>", "attribute (repeatable)").argParser(keyValueFlag("--attr")))
      .addOption(new Option("--priority <0-9>", "higher goes first").argParser(integerFlag("--priority", 0, 9)))
      .option("--id <id>", "client id (deduplicated within the topic's window)")
      .option("--ordering-key <key>", "ordering key")
      .addOption(new Option("--delay-ms <ms>", "not deliverable before this delay").argParser(uint64Flag("--delay-ms")))
      .addOption(
        new Option("--ttl-ms <ms>", "dropped unless delivered within this time").argParser(uint64Flag("--ttl-ms")),
      )
      .addOption(
        new Option("--count <n>", "publish the data N times: a quick load with a progress line and a rate").argParser(
          integerFlag("--count", 1, 1_000_000_000),
        ),
      )
      .addOption(
        new Option("--batch-size <n>", "messages per Publish call with --lines or --count")
          .default(100)
          .argParser(integerFlag("--batch-size", 1, 1000)),
      )
      .addOption(
        new Option("--in-flight <n>", "Publish calls in flight with --count")
          .default(4)
          .argParser(integerFlag("--in-flight", 1, 64)),
      ),
  ).action(
    clientAction<PubFlags>(io, state, async (ctx, opts, [topic, data]) => {
      if (data !== undefined && opts.file !== undefined) throw new UsageError("give DATA or --file, not both");
      if (opts.lines && opts.count !== undefined) throw new UsageError("--lines and --count do not go together");
      if (opts.id !== undefined && (opts.lines || (opts.count ?? 1) > 1)) {
        throw new UsageError("--id names one message: it does not go with --lines or --count");
      }
      if (data === undefined && opts.file === undefined && ctx.io.isTTY.stdin) {
        throw new UsageError("no data: give DATA, --file, or pipe it to stdin");
      }
      const template = templateOf(opts);
      const input = () => openInput(opts.file, ctx.io.stdin);
      if (opts.lines) return publishLines(ctx, topic as string, template, readLines(input()), opts.batchSize);
      const bytes = data !== undefined ? Buffer.from(data, "utf8") : await readAll(input());
      if (opts.count !== undefined) {
        return publishCount(ctx, { topic: topic as string, template, data: bytes, ...opts, count: opts.count });
      }
      const res = await ctx.clients.publisher.publish(
        { topic, messages: [{ ...template, data: bytes }] },
        ctx.clients.unary(ctx.signal),
      );
      if (ctx.json) return writeOut(io, jsonLine(PublishResponseSchema, res));
      for (const r of res.results) {
        await writeOut(io, `published seq=${r.seq} id=${r.id}${r.duplicate ? " (duplicate: not stored again)" : ""}\n`);
      }
    }),
  );
}

function templateOf(opts: PubFlags): MessageTemplate {
  return {
    ...(opts.attr ? { attributes: opts.attr } : {}),
    ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
    ...(opts.id !== undefined ? { id: opts.id } : {}),
    ...(opts.orderingKey !== undefined ? { orderingKey: opts.orderingKey } : {}),
    ...(opts.delayMs !== undefined ? { delayMs: opts.delayMs } : {}),
    ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
  };
}

/**
 * `--lines`: one message per line, in batches of `batchSize` (at most 4 MiB), one Publish at a
 * time so seqs follow the line order. JSON: one PublishResult per line.
 */
async function publishLines(
  ctx: ClientContext,
  topic: string,
  template: MessageTemplate,
  lines: AsyncIterable<Uint8Array>,
  batchSize: number,
): Promise<void> {
  let published = 0;
  let duplicates = 0;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const messages = batch.map((data) => ({ ...template, data }));
    batch = [];
    batchBytes = 0;
    const res = await ctx.clients.publisher.publish({ topic, messages }, ctx.clients.unary());
    for (const r of res.results) {
      published++;
      if (r.duplicate) duplicates++;
      if (ctx.json) await writeOut(ctx.io, jsonLine(PublishResultSchema, create(PublishResultSchema, r)));
    }
  };
  for await (const line of lines) {
    if (ctx.signal.aborted) break;
    if (batch.length >= batchSize || batchBytes + line.byteLength > MAX_BATCH_BYTES) await flush();
    batch.push(line);
    batchBytes += line.byteLength;
  }
  await flush();
  if (!ctx.json) {
    const dup = duplicates > 0 ? ` (${duplicates} duplicates not stored again)` : "";
    await writeOut(ctx.io, `published ${published} messages to ${topic}${dup}\n`);
  }
}
