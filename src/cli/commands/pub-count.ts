import { writeOut } from "../cli-io.js";
import type { ClientContext } from "../client/action.js";
import type { MessageTemplate } from "./pub.js";

/** What `pub --count` publishes. */
export interface CountRun {
  topic: string;
  template: MessageTemplate;
  data: Uint8Array;
  count: number;
  batchSize: number;
  inFlight: number;
  /** How often the progress line is written. Default 1000 ms. */
  progressEveryMs?: number;
}

/** How often the progress line is rewritten. */
const PROGRESS_EVERY_MS = 1000;

/**
 * `pub --count N`: publishes the data N times in batches of `batchSize` with up to `inFlight`
 * Publish calls at once. A progress line goes to stderr every second (rewritten in place on a
 * terminal); at the end stdout gets the total, the time and the rate. SIGINT stops after the
 * calls in flight (which are answered, so the total is exact).
 */
export async function publishCount(ctx: ClientContext, run: CountRun): Promise<void> {
  const started = performance.now();
  let sent = 0;
  let published = 0;
  let duplicates = 0;
  const tty = ctx.io.isTTY.stderr;
  const progress = () => {
    const seconds = (performance.now() - started) / 1000;
    const text = `published ${published}/${run.count} (${rate(published, seconds)} msg/s)`;
    ctx.io.stderr(tty ? `\r${text}` : `${text}\n`);
  };
  const timer = setInterval(progress, run.progressEveryMs ?? PROGRESS_EVERY_MS);
  const worker = async () => {
    while (sent < run.count && !ctx.signal.aborted) {
      const n = Math.min(run.batchSize, run.count - sent);
      sent += n;
      const messages = Array.from({ length: n }, () => ({ ...run.template, data: run.data }));
      const res = await ctx.clients.publisher.publish({ topic: run.topic, messages }, ctx.clients.unary());
      published += res.results.length;
      duplicates += res.results.filter((r) => r.duplicate).length;
    }
  };
  try {
    const workers = Array.from({ length: Math.min(run.inFlight, Math.ceil(run.count / run.batchSize)) }, worker);
    const results = await Promise.allSettled(workers);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  } finally {
    clearInterval(timer);
    if (tty && published > 0) ctx.io.stderr("\n");
  }
  const seconds = (performance.now() - started) / 1000;
  if (ctx.json) {
    const summary = {
      published,
      duplicates,
      seconds: +seconds.toFixed(3),
      messagesPerSecond: rate(published, seconds),
    };
    return writeOut(ctx.io, `${JSON.stringify(summary)}\n`);
  }
  const dup = duplicates > 0 ? `, ${duplicates} duplicates` : "";
  await writeOut(
    ctx.io,
    `published ${published} messages to ${run.topic} in ${seconds.toFixed(2)} s (${rate(published, seconds)} msg/s${dup})\n`,
  );
}

function rate(n: number, seconds: number): number {
  return seconds > 0 ? Math.round(n / seconds) : 0;
}
