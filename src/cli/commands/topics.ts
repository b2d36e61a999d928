import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Command, Option } from "commander";
import {
  CreateTopicResponseSchema,
  ListTopicsResponseSchema,
  PurgeTopicResponseSchema,
} from "../../../gen/switchyard/v1/admin_pb.js";
import { DedupScope, OverflowPolicy, type Topic, TopicSchema } from "../../../gen/switchyard/v1/types_pb.js";
import { writeOut } from "../cli-io.js";
import { clientAction } from "../client/action.js";
import { UsageError } from "../client/cli-error.js";
import { addConnectionOptions } from "../client/connection.js";
import { formatFields, formatMs, formatTable, formatTime, jsonLine, orDash, yesNo } from "../client/format.js";
import { choiceFlag, uint64Flag } from "../client/parse.js";
import type { CommandDeps } from "./deps.js";
import { listAll } from "./list-all.js";

/** The topic settings flags of `topics create` and `topics update`, by proto field name. */
interface TopicFlags {
  dedupWindowMs?: bigint;
  dedupScope?: DedupScope;
  retainAckedMs?: bigint;
  maxMessages?: bigint;
  maxBytes?: bigint;
  maxAgeMs?: bigint;
  overflow?: OverflowPolicy;
}

const FLAG_FIELDS: Record<keyof TopicFlags, string> = {
  dedupWindowMs: "dedup_window_ms",
  dedupScope: "dedup_scope",
  retainAckedMs: "retain_acked_ms",
  maxMessages: "max_messages",
  maxBytes: "max_bytes",
  maxAgeMs: "max_age_ms",
  overflow: "overflow",
};

const DEDUP_SCOPES: Record<string, DedupScope> = { window: DedupScope.WINDOW, unacked: DedupScope.UNACKED };
const OVERFLOWS: Record<string, OverflowPolicy> = {
  reject: OverflowPolicy.REJECT,
  "drop-oldest": OverflowPolicy.DROP_OLDEST,
};

function addTopicSettings(command: Command): Command {
  return command
    .addOption(
      new Option("--dedup-window-ms <ms>", "how long a client id counts as seen").argParser(
        uint64Flag("--dedup-window-ms"),
      ),
    )
    .addOption(
      new Option("--dedup-scope <scope>", "window, or unacked (an id counts while its message is unacked)").argParser(
        choiceFlag("--dedup-scope", DEDUP_SCOPES),
      ),
    )
    .addOption(
      new Option("--retain-acked-ms <ms>", "keep acked messages this long for replay").argParser(
        uint64Flag("--retain-acked-ms"),
      ),
    )
    .addOption(new Option("--max-messages <n>", "limit of stored messages").argParser(uint64Flag("--max-messages")))
    .addOption(new Option("--max-bytes <n>", "limit of stored bytes").argParser(uint64Flag("--max-bytes")))
    .addOption(new Option("--max-age-ms <ms>", "drop messages older than this").argParser(uint64Flag("--max-age-ms")))
    .addOption(
      new Option("--overflow <policy>", "at a limit: reject new publishes, or drop-oldest").argParser(
        choiceFlag("--overflow", OVERFLOWS),
      ),
    );
}

const SCOPE_NAMES: Record<number, string> = { 0: "-", 1: "window", 2: "unacked" };
const OVERFLOW_NAMES: Record<number, string> = { 0: "-", 1: "reject", 2: "drop-oldest" };

function topicRow(t: Topic): string[] {
  return [
    t.name,
    yesNo(t.queue),
    SCOPE_NAMES[t.dedupScope] ?? String(t.dedupScope),
    formatMs(t.retainAckedMs),
    orDash(t.maxMessages),
    orDash(t.maxBytes),
    formatMs(t.maxAgeMs),
    OVERFLOW_NAMES[t.overflow] ?? String(t.overflow),
  ];
}

const TOPIC_HEADERS = ["NAME", "QUEUE", "DEDUP", "RETAIN_ACKED", "MAX_MESSAGES", "MAX_BYTES", "MAX_AGE", "OVERFLOW"];

/** A topic as `key: value` lines. */
export function describeTopic(t: Topic): string {
  return formatFields([
    ["name", t.name],
    ["queue", yesNo(t.queue)],
    ["dedup scope", SCOPE_NAMES[t.dedupScope]],
    ["dedup window", formatMs(t.dedupWindowMs)],
    ["retain acked", formatMs(t.retainAckedMs)],
    ["max messages", orDash(t.maxMessages)],
    ["max bytes", orDash(t.maxBytes)],
    ["max age", formatMs(t.maxAgeMs)],
    ["overflow", OVERFLOW_NAMES[t.overflow]],
    ["created", formatTime(t.createTime)],
  ]);
}

/** `switchyard topics list|create|get|update|delete|purge`. */
export function topicsCommand({ io, state }: CommandDeps): Command {
  const topics = new Command("topics").description("list, create, inspect, change, delete and purge topics");

  addConnectionOptions(topics.command("list").description("list every topic")).action(
    clientAction(io, state, async (ctx) => {
      const all = await listAll(ctx, (pageToken) =>
        ctx.clients.admin.listTopics({ pageToken }, ctx.clients.unary(ctx.signal)).then((r) => ({
          items: r.topics,
          next: r.nextPageToken,
        })),
      );
      if (ctx.json)
        return writeOut(io, jsonLine(ListTopicsResponseSchema, create(ListTopicsResponseSchema, { topics: all })));
      await writeOut(io, formatTable(TOPIC_HEADERS, all.map(topicRow)));
    }),
  );

  addConnectionOptions(
    addTopicSettings(
      topics
        .command("create")
        .description("create a topic (--queue also creates a subscription of the same name)")
        .argument("<name>", "topic name")
        .option("--queue", "also create the same-name subscription", false),
    ),
  ).action(
    clientAction<TopicFlags & { queue: boolean }>(io, state, async (ctx, opts, [name]) => {
      const res = await ctx.clients.admin.createTopic(
        { name, queue: opts.queue, ...settingsOf(opts) },
        ctx.clients.unary(ctx.signal),
      );
      if (ctx.json) return writeOut(io, jsonLine(CreateTopicResponseSchema, res));
      await writeOut(
        io,
        `created topic ${name}${res.subscription ? ` and subscription ${res.subscription.name}` : ""}\n`,
      );
    }),
  );

  addConnectionOptions(topics.command("get").description("show a topic's settings").argument("<name>")).action(
    clientAction(io, state, async (ctx, _opts, [name]) => {
      const { topic } = await ctx.clients.admin.getTopic({ name }, ctx.clients.unary(ctx.signal));
      const t = topic ?? create(TopicSchema);
      await writeOut(io, ctx.json ? jsonLine(TopicSchema, t) : describeTopic(t));
    }),
  );

  addConnectionOptions(
    addTopicSettings(
      topics.command("update").description("change the settings given as flags (the others stay)").argument("<name>"),
    ),
  ).action(
    clientAction<TopicFlags>(io, state, async (ctx, opts, [name]) => {
      const settings = settingsOf(opts);
      const paths = (Object.keys(settings) as (keyof TopicFlags)[]).map((k) => FLAG_FIELDS[k]);
      if (paths.length === 0) throw new UsageError("topics update: give at least one setting to change (see --help)");
      const { topic } = await ctx.clients.admin.updateTopic(
        { topic: { name, ...settings }, updateMask: create(FieldMaskSchema, { paths }) },
        ctx.clients.unary(ctx.signal),
      );
      const t = topic ?? create(TopicSchema);
      await writeOut(io, ctx.json ? jsonLine(TopicSchema, t) : describeTopic(t));
    }),
  );

  addConnectionOptions(
    topics.command("delete").description("delete a topic, its messages and its subscriptions").argument("<name>"),
  ).action(
    clientAction(io, state, async (ctx, _opts, [name]) => {
      await ctx.clients.admin.deleteTopic({ name }, ctx.clients.unary(ctx.signal));
      await writeOut(io, ctx.json ? "{}\n" : `deleted topic ${name}\n`);
    }),
  );

  addConnectionOptions(
    topics.command("purge").description("remove every stored message (seqs keep counting)").argument("<name>"),
  ).action(
    clientAction(io, state, async (ctx, _opts, [name]) => {
      const res = await ctx.clients.admin.purgeTopic({ name }, ctx.clients.unary(ctx.signal));
      await writeOut(
        io,
        ctx.json ? jsonLine(PurgeTopicResponseSchema, res) : `purged ${res.purged} messages from ${name}\n`,
      );
    }),
  );
  return topics;
}

/** The settings that were given as flags (undefined ones left out). */
function settingsOf(opts: TopicFlags): TopicFlags {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(FLAG_FIELDS) as (keyof TopicFlags)[]) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out as TopicFlags;
}
