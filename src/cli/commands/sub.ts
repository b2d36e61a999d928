import { Command, Option } from "commander";
import { type ReceivedMessage, ReceivedMessageSchema } from "../../../gen/switchyard/v1/types_pb.js";
import { writeOut } from "../cli-io.js";
import { type ClientContext, clientAction } from "../client/action.js";
import { addConnectionOptions } from "../client/connection.js";
import { jsonLine } from "../client/format.js";
import { integerFlag, uint64Flag } from "../client/parse.js";
import type { CommandDeps } from "./deps.js";

/** `sub`'s flags. */
interface SubFlags {
  ack: boolean;
  max?: number;
  maxOutstandingMessages: number;
  ackDeadlineMs?: bigint;
}

/**
 * `switchyard sub SUBSCRIPTION`: streams messages (Subscribe) and acks each batch once it is
 * printed. Ends at `--max`, at SIGINT/SIGTERM (exit 0; what was printed is acked, what the
 * stream still held goes back to the subscription at once) or when the server ends the stream.
 * With `--max` and acks it long-polls with Pull instead (see {@link pullExactly}); with
 * `--no-ack` nothing is acked and everything shown goes back when the command ends.
 */
export function subCommand({ io, state }: CommandDeps): Command {
  return addConnectionOptions(
    new Command("sub")
      .description("stream messages from a subscription and ack them (prints the data, or --json)")
      .argument("<subscription>")
      .option("--no-ack", "print without acking: the messages go back when the command ends")
      .addOption(new Option("--max <n>", "stop after N messages").argParser(integerFlag("--max", 1, 1_000_000_000)))
      .addOption(
        new Option("--max-outstanding-messages <n>", "unacked messages the stream may hold")
          .default(100)
          .argParser(integerFlag("--max-outstanding-messages", 1, 10_000)),
      )
      .addOption(
        new Option("--ack-deadline-ms <ms>", "lease of each message (default: the subscription's)").argParser(
          uint64Flag("--ack-deadline-ms"),
        ),
      ),
  ).action(
    clientAction<SubFlags>(io, state, async (ctx, opts, [subscription]) => {
      const name = subscription as string;
      const print = async (batch: readonly ReceivedMessage[]) => {
        for (const m of batch) {
          await writeOut(io, ctx.json ? jsonLine(ReceivedMessageSchema, m) : (m.message?.data ?? new Uint8Array()));
          if (!ctx.json) await writeOut(io, "\n");
        }
      };
      if (opts.ack && opts.max !== undefined) return pullExactly(ctx, name, opts.max, opts.ackDeadlineMs, print);
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const window = Math.min(opts.maxOutstandingMessages, opts.max ?? Number.POSITIVE_INFINITY);
      let shown = 0;
      try {
        const stream = ctx.clients.subscriber.subscribe(
          { subscription: name, maxOutstandingMessages: window, ackDeadlineMs: opts.ackDeadlineMs ?? 0n },
          { signal: stop.signal },
        );
        for await (const { messages } of stream) {
          const batch = opts.max === undefined ? messages : messages.slice(0, opts.max - shown);
          await print(batch);
          shown += batch.length;
          if (opts.ack && batch.length > 0) {
            await ctx.clients.subscriber.ack(
              { subscription: name, ackIds: batch.map((m) => m.ackId) },
              ctx.clients.unary(),
            );
          }
          if (opts.max !== undefined && shown >= opts.max) break;
        }
      } catch (e) {
        // Our own abort (a signal) ends the stream as Canceled: a clean stop.
        if (!stop.signal.aborted) throw e;
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        // Breaking out of the loop does not cancel a Connect stream; aborting does. The server
        // then gives back at once what the stream held unacked.
        stop.abort();
      }
    }),
  );
}

/** How long one Pull of {@link pullExactly} waits for messages before it asks again. */
const PULL_WAIT_MS = 20_000;

/**
 * `sub --max N` with acks: long-polls with Pull for at most the messages still wanted, so the
 * command never leases more than N (a stream tops up its window as soon as an ack frees room,
 * and what it holds at the end would go back with one more delivery attempt counted).
 */
async function pullExactly(
  ctx: ClientContext,
  subscription: string,
  max: number,
  ackDeadlineMs: bigint | undefined,
  print: (batch: readonly ReceivedMessage[]) => Promise<void>,
): Promise<void> {
  let shown = 0;
  while (shown < max && !ctx.signal.aborted) {
    let messages: ReceivedMessage[];
    try {
      ({ messages } = await ctx.clients.subscriber.pull(
        {
          subscription,
          maxMessages: Math.min(max - shown, 1000),
          waitMs: PULL_WAIT_MS,
          ackDeadlineMs: ackDeadlineMs ?? 0n,
        },
        { signal: ctx.signal, timeoutMs: ctx.clients.unary().timeoutMs + PULL_WAIT_MS },
      ));
    } catch (e) {
      if (ctx.signal.aborted) return;
      throw e;
    }
    await print(messages);
    shown += messages.length;
    if (messages.length > 0) {
      await ctx.clients.subscriber.ack({ subscription, ackIds: messages.map((m) => m.ackId) }, ctx.clients.unary());
    }
  }
}
