import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Command, Option } from "commander";
import {
  CreateSnapshotResponseSchema,
  ListSnapshotsResponseSchema,
  type Snapshot,
} from "../../../gen/switchyard/v1/replay_pb.js";
import { MessageSchema } from "../../../gen/switchyard/v1/types_pb.js";
import { writeOut } from "../cli-io.js";
import { clientAction } from "../client/action.js";
import { UsageError } from "../client/cli-error.js";
import { addConnectionOptions } from "../client/connection.js";
import { formatTable, formatTime, jsonLine } from "../client/format.js";
import { integerFlag, timeFlag, uint64Flag } from "../client/parse.js";
import type { CommandDeps } from "./deps.js";
import { listAll } from "./list-all.js";

/** `read`'s flags. */
interface ReadFlags {
  fromSeq?: bigint;
  fromTime?: Date;
  follow: boolean;
  max?: number;
}

/** `switchyard read TOPIC`: the stored log, without leasing anything. */
export function readCommand({ io, state }: CommandDeps): Command {
  return addConnectionOptions(
    new Command("read")
      .description("print a topic's stored messages from a seq or a time, without leasing (--follow: then new ones)")
      .argument("<topic>")
      .addOption(new Option("--from-seq <seq>", "first seq (default 1)").argParser(uint64Flag("--from-seq")))
      .addOption(
        new Option("--from-time <time>", "first message published at or after (ISO 8601, epoch ms, or an age: 15m)")
          .argParser(timeFlag("--from-time"))
          .conflicts("fromSeq"),
      )
      .option("--follow", "keep printing new messages until interrupted", false)
      .addOption(new Option("--max <n>", "stop after N messages").argParser(integerFlag("--max", 1, 1_000_000_000))),
  ).action(
    clientAction<ReadFlags>(io, state, async (ctx, opts, [topic]) => {
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const from =
        opts.fromTime !== undefined
          ? { case: "fromTime" as const, value: timestampFromDate(opts.fromTime) }
          : { case: "fromSeq" as const, value: opts.fromSeq ?? 1n };
      let shown = 0;
      try {
        const stream = ctx.clients.replay.read(
          { topic, from, follow: opts.follow, maxMessages: Math.min(opts.max ?? 1000, 1000) },
          { signal: stop.signal },
        );
        for await (const { messages } of stream) {
          for (const m of messages) {
            await writeOut(io, ctx.json ? jsonLine(MessageSchema, m) : m.data);
            if (!ctx.json) await writeOut(io, "\n");
            shown++;
            if (opts.max !== undefined && shown >= opts.max) return;
          }
        }
      } catch (e) {
        if (!stop.signal.aborted) throw e;
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        stop.abort();
      }
    }),
  );
}

/** `switchyard seek SUBSCRIPTION --to-seq N | --to-time T | --snapshot NAME`. */
export function seekCommand({ io, state }: CommandDeps): Command {
  return addConnectionOptions(
    new Command("seek")
      .description(
        "move a subscription: the target and everything after it is delivered again, before it counts as acked",
      )
      .argument("<subscription>")
      .addOption(new Option("--to-seq <seq>", "this seq").argParser(uint64Flag("--to-seq")))
      .addOption(
        new Option("--to-time <time>", "the first message published at or after (ISO 8601, epoch ms, or an age)")
          .argParser(timeFlag("--to-time"))
          .conflicts("toSeq"),
      )
      .addOption(new Option("--snapshot <name>", "the ack state a snapshot captured").conflicts(["toSeq", "toTime"])),
  ).action(
    clientAction<{ toSeq?: bigint; toTime?: Date; snapshot?: string }>(io, state, async (ctx, opts, [subscription]) => {
      const target =
        opts.toSeq !== undefined
          ? { case: "seq" as const, value: opts.toSeq }
          : opts.toTime !== undefined
            ? { case: "time" as const, value: timestampFromDate(opts.toTime) }
            : opts.snapshot !== undefined
              ? { case: "snapshot" as const, value: opts.snapshot }
              : undefined;
      if (target === undefined) throw new UsageError("seek: give --to-seq, --to-time or --snapshot");
      await ctx.clients.replay.seek({ subscription, target }, ctx.clients.unary(ctx.signal));
      const where =
        target.case === "time" ? `time ${opts.toTime?.toISOString()}` : `${target.case} ${String(target.value)}`;
      await writeOut(io, ctx.json ? "{}\n" : `seeked ${subscription} to ${where}\n`);
    }),
  );
}

const SNAPSHOT_HEADERS = ["NAME", "SUBSCRIPTION", "TOPIC", "LAST_SEQ", "MESSAGES", "CREATED"];

function snapshotRow(s: Snapshot): string[] {
  return [s.name, s.subscription, s.topic, String(s.lastSeq), String(s.messages), formatTime(s.createTime)];
}

/** `switchyard snapshots list|create|delete`. */
export function snapshotsCommand({ io, state }: CommandDeps): Command {
  const snapshots = new Command("snapshots").description("capture a subscription's ack state to seek back to later");

  addConnectionOptions(
    snapshots
      .command("list")
      .description("list snapshots")
      .argument("[subscription]", "only those of this subscription"),
  ).action(
    clientAction(io, state, async (ctx, _opts, [subscription]) => {
      const all = await listAll(ctx, (pageToken) =>
        ctx.clients.replay
          .listSnapshots({ subscription: subscription ?? "", pageToken }, ctx.clients.unary(ctx.signal))
          .then((r) => ({ items: r.snapshots, next: r.nextPageToken })),
      );
      if (ctx.json) {
        return writeOut(
          io,
          jsonLine(ListSnapshotsResponseSchema, create(ListSnapshotsResponseSchema, { snapshots: all })),
        );
      }
      await writeOut(io, formatTable(SNAPSHOT_HEADERS, all.map(snapshotRow)));
    }),
  );

  addConnectionOptions(
    snapshots
      .command("create")
      .description("snapshot a subscription's ack state")
      .argument("<name>")
      .requiredOption("--subscription <subscription>", "whose state to capture"),
  ).action(
    clientAction<{ subscription: string }>(io, state, async (ctx, opts, [name]) => {
      const res = await ctx.clients.replay.createSnapshot(
        { name, subscription: opts.subscription },
        ctx.clients.unary(ctx.signal),
      );
      if (ctx.json) return writeOut(io, jsonLine(CreateSnapshotResponseSchema, res));
      await writeOut(io, `created snapshot ${name} of ${opts.subscription} at seq ${res.snapshot?.lastSeq ?? 0}\n`);
    }),
  );

  addConnectionOptions(snapshots.command("delete").description("delete a snapshot").argument("<name>")).action(
    clientAction(io, state, async (ctx, _opts, [name]) => {
      await ctx.clients.replay.deleteSnapshot({ name }, ctx.clients.unary(ctx.signal));
      await writeOut(io, ctx.json ? "{}\n" : `deleted snapshot ${name}\n`);
    }),
  );
  return snapshots;
}
