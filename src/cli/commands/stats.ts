import { Command } from "commander";
import { GetStatsResponseSchema } from "../../../gen/switchyard/v1/admin_pb.js";
import type { SubscriptionStats, TopicStats } from "../../../gen/switchyard/v1/types_pb.js";
import { writeOut } from "../cli-io.js";
import { clientAction } from "../client/action.js";
import { addConnectionOptions } from "../client/connection.js";
import { formatMs, formatTable, jsonLine, yesNo } from "../client/format.js";
import type { CommandDeps } from "./deps.js";

const TOPIC_HEADERS = ["TOPIC", "MESSAGES", "BYTES", "LAST_SEQ", "SUBSCRIPTIONS"];
const SUB_HEADERS = [
  "SUBSCRIPTION",
  "TOPIC",
  "BACKLOG",
  "IN_FLIGHT",
  "DELAYED",
  "CONSUMERS",
  "OLDEST_UNACKED",
  "DEAD_LETTERED",
  "PAUSED",
  "PUSH",
];

function topicRow(t: TopicStats): string[] {
  return [t.name, String(t.messages), String(t.bytes), String(t.lastSeq), String(t.subscriptions)];
}

function subRow(s: SubscriptionStats): string[] {
  const push = s.push
    ? `${s.push.lastStatus === 0 ? "error" : `HTTP ${s.push.lastStatus}`}${s.push.consecutiveFailures > 0 ? `, ${s.push.consecutiveFailures} failing` : ""}`
    : "-";
  return [
    s.name,
    s.topic,
    String(s.backlog),
    String(s.inFlight),
    String(s.delayed),
    String(s.consumers),
    formatMs(s.oldestUnackedAgeMs),
    String(s.deadLettered),
    yesNo(s.paused),
    push,
  ];
}

/** `switchyard stats [TOPIC...]`: messages per topic, backlog and leases per subscription. */
export function statsCommand({ io, state }: CommandDeps): Command {
  return addConnectionOptions(
    new Command("stats")
      .description("messages and bytes per topic; backlog, in flight and consumers per subscription")
      .argument("[topics...]", "only these topics (default: all)"),
  ).action(
    clientAction(io, state, async (ctx, _opts, topics) => {
      const res = await ctx.clients.admin.getStats({ topics }, ctx.clients.unary(ctx.signal));
      if (ctx.json) return writeOut(io, jsonLine(GetStatsResponseSchema, res));
      let text = formatTable(TOPIC_HEADERS, res.topics.map(topicRow));
      if (res.subscriptions.length > 0) text += `\n${formatTable(SUB_HEADERS, res.subscriptions.map(subRow))}`;
      await writeOut(io, text);
    }),
  );
}
