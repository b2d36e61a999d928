import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Command } from "commander";
import { ListSubscriptionsResponseSchema } from "../../../gen/switchyard/v1/admin_pb.js";
import { type Subscription, SubscriptionSchema } from "../../../gen/switchyard/v1/types_pb.js";
import { writeOut } from "../cli-io.js";
import { type ClientContext, clientAction } from "../client/action.js";
import { UsageError } from "../client/cli-error.js";
import { addConnectionOptions } from "../client/connection.js";
import { formatMs, formatTable, jsonLine, orDash, yesNo } from "../client/format.js";
import type { CommandDeps } from "./deps.js";
import { listAll } from "./list-all.js";
import {
  addCreateOnlySettings,
  addSubscriptionSettings,
  type CreateOnlyFlags,
  describeSubscription,
  type SubscriptionFlags,
  subscriptionToCreate,
  subscriptionUpdate,
} from "./sub-settings.js";

const HEADERS = ["NAME", "TOPIC", "ACK_DEADLINE", "MAX_ATTEMPTS", "DEAD_LETTER", "ORDERED", "PAUSED", "PUSH"];

function row(s: Subscription): string[] {
  return [
    s.name,
    s.topic,
    formatMs(s.ackDeadlineMs),
    orDash(s.maxDeliveryAttempts),
    orDash(s.deadLetterTopic),
    yesNo(s.ordered),
    yesNo(s.paused),
    s.push?.endpoint || "-",
  ];
}

async function show(ctx: ClientContext, sub: Subscription | undefined): Promise<void> {
  const s = sub ?? create(SubscriptionSchema);
  await writeOut(ctx.io, ctx.json ? jsonLine(SubscriptionSchema, s) : describeSubscription(s));
}

/** `switchyard subs list|create|get|update|delete|purge|pause|resume`. */
export function subsCommand({ io, state }: CommandDeps): Command {
  const subs = new Command("subs").description(
    "list, create, inspect, change, delete, purge, pause and resume subscriptions",
  );

  addConnectionOptions(
    subs.command("list").description("list subscriptions").option("--topic <topic>", "only those of this topic"),
  ).action(
    clientAction<{ topic?: string }>(io, state, async (ctx, opts) => {
      const all = await listAll(ctx, (pageToken) =>
        ctx.clients.admin
          .listSubscriptions({ topic: opts.topic ?? "", pageToken }, ctx.clients.unary(ctx.signal))
          .then((r) => ({ items: r.subscriptions, next: r.nextPageToken })),
      );
      if (ctx.json) {
        const res = create(ListSubscriptionsResponseSchema, { subscriptions: all });
        return writeOut(io, jsonLine(ListSubscriptionsResponseSchema, res));
      }
      await writeOut(io, formatTable(HEADERS, all.map(row)));
    }),
  );

  addConnectionOptions(
    addSubscriptionSettings(
      addCreateOnlySettings(subs.command("create").description("create a subscription on a topic").argument("<name>")),
      false,
    ),
  ).action(
    clientAction<SubscriptionFlags & CreateOnlyFlags>(io, state, async (ctx, opts, [name]) => {
      const subscription = subscriptionToCreate(name as string, opts);
      const res = await ctx.clients.admin.createSubscription({ subscription }, ctx.clients.unary(ctx.signal));
      if (ctx.json) return show(ctx, res.subscription);
      await writeOut(io, `created subscription ${name} on ${opts.topic}\n`);
    }),
  );

  addConnectionOptions(subs.command("get").description("show a subscription's settings").argument("<name>")).action(
    clientAction(io, state, async (ctx, _opts, [name]) => {
      const res = await ctx.clients.admin.getSubscription({ name }, ctx.clients.unary(ctx.signal));
      await show(ctx, res.subscription);
    }),
  );

  addConnectionOptions(
    addSubscriptionSettings(
      subs
        .command("update")
        .description("change the settings given as flags (reads the subscription first; retry and push merge)")
        .argument("<name>"),
      true,
    ),
  ).action(
    clientAction<SubscriptionFlags & { push?: boolean }>(io, state, async (ctx, opts, [name]) => {
      const { subscription: current } = await ctx.clients.admin.getSubscription(
        { name },
        ctx.clients.unary(ctx.signal),
      );
      const { subscription, paths } = subscriptionUpdate(current ?? create(SubscriptionSchema, { name }), opts);
      if (paths.length === 0) throw new UsageError("subs update: give at least one setting to change (see --help)");
      const res = await ctx.clients.admin.updateSubscription(
        { subscription, updateMask: create(FieldMaskSchema, { paths }) },
        ctx.clients.unary(ctx.signal),
      );
      await show(ctx, res.subscription);
    }),
  );

  addConnectionOptions(subs.command("delete").description("delete a subscription").argument("<name>")).action(
    clientAction(io, state, async (ctx, _opts, [name]) => {
      await ctx.clients.admin.deleteSubscription({ name }, ctx.clients.unary(ctx.signal));
      await writeOut(io, ctx.json ? "{}\n" : `deleted subscription ${name}\n`);
    }),
  );

  addConnectionOptions(
    subs
      .command("purge")
      .description(
        "drop every message waiting on the subscription (a Seek to now: all published before counts as acked)",
      )
      .argument("<name>"),
  ).action(
    clientAction(io, state, async (ctx, _opts, [name]) => {
      const now = new Date();
      await ctx.clients.replay.seek(
        { subscription: name, target: { case: "time", value: timestampFromDate(now) } },
        ctx.clients.unary(ctx.signal),
      );
      const text = `purged subscription ${name}: everything published before ${now.toISOString()} counts as acked\n`;
      await writeOut(io, ctx.json ? `${JSON.stringify({ purgedBefore: now.toISOString() })}\n` : text);
    }),
  );

  for (const [verb, what] of [
    ["pause", "stop delivery (publishes are still stored)"],
    ["resume", "restart delivery"],
  ] as const) {
    addConnectionOptions(subs.command(verb).description(what).argument("<name>")).action(
      clientAction(io, state, async (ctx, _opts, [name]) => {
        const req = { name };
        const res =
          verb === "pause"
            ? await ctx.clients.admin.pauseSubscription(req, ctx.clients.unary(ctx.signal))
            : await ctx.clients.admin.resumeSubscription(req, ctx.clients.unary(ctx.signal));
        if (ctx.json) return show(ctx, res.subscription);
        await writeOut(io, `${verb === "pause" ? "paused" : "resumed"} subscription ${name}\n`);
      }),
    );
  }
  return subs;
}
