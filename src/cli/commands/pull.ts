import { Command, Option } from "commander";
import { PeekResponseSchema, PullResponseSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
import type { ReceivedMessage } from "../../../gen/switchyard/v1/types_pb.js";
import { writeOut } from "../cli-io.js";
import { clientAction } from "../client/action.js";
import { UsageError } from "../client/cli-error.js";
import { addConnectionOptions } from "../client/connection.js";
import { dataPreview, formatTable, jsonLine } from "../client/format.js";
import { integerFlag, uint64Flag } from "../client/parse.js";
import type { CommandDeps } from "./deps.js";

const HEADERS = ["ACK_ID", "SEQ", "ID", "ATTEMPT", "PRIORITY", "DATA"];

function rows(messages: readonly ReceivedMessage[]): string[][] {
  return messages.map((m) => [
    m.ackId || "-",
    String(m.message?.seq ?? ""),
    m.message?.id ?? "",
    String(m.deliveryAttempt),
    String(m.message?.priority ?? 0),
    dataPreview(m.message?.data ?? new Uint8Array()),
  ]);
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** `switchyard pull|peek|ack|nack`. */
export function pullCommands({ io, state }: CommandDeps): Command[] {
  const maxOption = () =>
    new Option("--max <n>", "at most N messages (default: the server's batch)").argParser(
      integerFlag("--max", 0, 1000),
    );
  const waitOption = () =>
    new Option("--wait-ms <ms>", "wait this long for a message when there is none")
      .default(0)
      .argParser(integerFlag("--wait-ms", 0, 3_600_000));

  const pull = addConnectionOptions(
    new Command("pull")
      .description("lease messages (ack them later with `ack`, by ACK_ID), or --ack / --auto-ack them")
      .argument("<subscription>")
      .addOption(maxOption())
      .addOption(waitOption())
      .option("--ack", "ack what was printed", false)
      .option("--auto-ack", "acked as they are handed out (at most once)", false)
      .addOption(
        new Option("--ack-deadline-ms <ms>", "lease length (default: the subscription's)").argParser(
          uint64Flag("--ack-deadline-ms"),
        ),
      ),
  ).action(
    clientAction<{ max?: number; waitMs: number; ack: boolean; autoAck: boolean; ackDeadlineMs?: bigint }>(
      io,
      state,
      async (ctx, opts, [subscription]) => {
        if (opts.ack && opts.autoAck) throw new UsageError("--ack and --auto-ack do not go together");
        const res = await ctx.clients.subscriber.pull(
          {
            subscription,
            maxMessages: opts.max ?? 0,
            waitMs: opts.waitMs,
            autoAck: opts.autoAck,
            ackDeadlineMs: opts.ackDeadlineMs ?? 0n,
          },
          { ...ctx.clients.unary(ctx.signal), timeoutMs: ctx.clients.unary().timeoutMs + opts.waitMs },
        );
        await writeOut(io, ctx.json ? jsonLine(PullResponseSchema, res) : formatTable(HEADERS, rows(res.messages)));
        if (opts.ack && res.messages.length > 0) {
          await ctx.clients.subscriber.ack(
            { subscription, ackIds: res.messages.map((m) => m.ackId) },
            ctx.clients.unary(),
          );
        }
      },
    ),
  );

  const peek = addConnectionOptions(
    new Command("peek")
      .description("show the next available messages without leasing them")
      .argument("<subscription>")
      .addOption(maxOption())
      .addOption(waitOption())
      .option("--from-back", "the newest first", false),
  ).action(
    clientAction<{ max?: number; waitMs: number; fromBack: boolean }>(io, state, async (ctx, opts, [subscription]) => {
      const res = await ctx.clients.subscriber.peek(
        { subscription, maxMessages: opts.max ?? 0, waitMs: opts.waitMs, fromBack: opts.fromBack },
        { ...ctx.clients.unary(ctx.signal), timeoutMs: ctx.clients.unary().timeoutMs + opts.waitMs },
      );
      await writeOut(
        io,
        ctx.json
          ? jsonLine(PeekResponseSchema, res)
          : formatTable(
              HEADERS.slice(1),
              rows(res.messages).map((r) => r.slice(1)),
            ),
      );
    }),
  );

  const settleCommand = (verb: "ack" | "nack", description: string) =>
    addConnectionOptions(
      new Command(verb)
        .description(description)
        .argument("<subscription>")
        .argument("[ack-ids...]", "ack ids from pull or sub --json")
        .option("--message-id <id>", "a message id instead of an ack id (repeatable)", collect),
    );

  const ack = settleCommand("ack", "ack messages: they leave the subscription").action(
    clientAction<{ messageId?: string[] }>(io, state, async (ctx, opts, [subscription, ...ackIds]) => {
      const messageIds = opts.messageId ?? [];
      if (ackIds.length + messageIds.length === 0) throw new UsageError("ack: give ack ids or --message-id");
      await ctx.clients.subscriber.ack({ subscription, ackIds, messageIds }, ctx.clients.unary(ctx.signal));
      await writeOut(io, ctx.json ? "{}\n" : `acked ${ackIds.length + messageIds.length}\n`);
    }),
  );

  const nack = settleCommand("nack", "nack messages: delivered again (after the retry backoff or --delay-ms)")
    .addOption(
      new Option("--delay-ms <ms>", "wait this long before delivering again").argParser(uint64Flag("--delay-ms")),
    )
    .option("--error <text>", "why it failed (kept on a dead letter)")
    .action(
      clientAction<{ messageId?: string[]; delayMs?: bigint; error?: string }>(
        io,
        state,
        async (ctx, opts, [subscription, ...ackIds]) => {
          const messageIds = opts.messageId ?? [];
          if (ackIds.length + messageIds.length === 0) throw new UsageError("nack: give ack ids or --message-id");
          await ctx.clients.subscriber.nack(
            { subscription, ackIds, messageIds, delayMs: opts.delayMs ?? 0n, error: opts.error ?? "" },
            ctx.clients.unary(ctx.signal),
          );
          await writeOut(io, ctx.json ? "{}\n" : `nacked ${ackIds.length + messageIds.length}\n`);
        },
      ),
    );
  return [pull, peek, ack, nack];
}
