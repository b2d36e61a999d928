import { Command, Option } from "commander";
import { RedriveResponseSchema } from "../../../gen/switchyard/v1/admin_pb.js";
import { writeOut } from "../cli-io.js";
import { clientAction } from "../client/action.js";
import { addConnectionOptions } from "../client/connection.js";
import { jsonLine } from "../client/format.js";
import { keyValueFlag, uint64Flag } from "../client/parse.js";
import type { CommandDeps } from "./deps.js";

/** `switchyard dlq redrive`. */
export function dlqCommand({ io, state }: CommandDeps): Command {
  const dlq = new Command("dlq").description("dead letters");
  addConnectionOptions(
    dlq
      .command("redrive")
      .description("move a subscription's dead letters back to it (a failure partway says how many moved)")
      .argument("<subscription>")
      .addOption(new Option("--max <n>", "at most N (default: all)").argParser(uint64Flag("--max")))
      .addOption(
        new Option("--filter <key=value>", "only dead letters with this attribute (repeatable)").argParser(
          keyValueFlag("--filter"),
        ),
      ),
  ).action(
    clientAction<{ max?: bigint; filter?: Record<string, string> }>(io, state, async (ctx, opts, [subscription]) => {
      const res = await ctx.clients.admin.redrive(
        { subscription, maxMessages: opts.max ?? 0n, filter: opts.filter ?? {} },
        ctx.clients.unary(ctx.signal),
      );
      await writeOut(
        io,
        ctx.json ? jsonLine(RedriveResponseSchema, res) : `redriven ${res.redriven} dead letters to ${subscription}\n`,
      );
    }),
  );
  return dlq;
}
