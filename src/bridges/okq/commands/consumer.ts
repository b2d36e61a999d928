import type { SubscriptionStats } from "../../../../gen/switchyard/v1/types_pb.js";
import { linkSignals } from "../../../util/index.js";
import type { BrokerClients } from "../../bridge.js";
import type { OkqContext } from "../context.js";
import { errorReply, isAbsent, isDenied } from "../errors.js";
import { array, bulk, error, int, NULL, OK } from "../resp-encoder.js";
import { type CommandSession, type CommandSpec, utf8 } from "./command.js";
import { askedFirst } from "./push.js";
import { parseOkqInt } from "./queue.js";

/**
 * `QREGISTER [queue ...]`: replaces the connection's registered queues (none: deregisters).
 * Registered queues are created if missing, so QNOTIFY can wait on them at once. At most
 * `maxRegisteredQueues` distinct names per connection (QNOTIFY waits on each of them).
 */
export const QREGISTER: CommandSpec = {
  minArgs: 0,
  async run(s, args) {
    const names = [...new Set(args.map(utf8).filter((n): n is string => n !== undefined && n !== ""))];
    const max = s.ctx.options.maxRegisteredQueues;
    if (names.length > max) return error(`ERR too many queues to register: ${names.length} > ${max}`);
    if (s.ctx.options.authenticator) {
      // The server creates missing queues, so the broker is first asked, as this user, whether
      // it may consume from each (a Peek, judged by the auth interceptor).
      try {
        await Promise.all(names.map((n) => askedFirst(s.clients.subscriber.peek({ subscription: n, maxMessages: 1 }))));
      } catch (e) {
        return errorReply(e, s.ctx.logger, "QREGISTER");
      }
    }
    s.registered = names;
    s.ctx.consumers.register(s, names);
    await Promise.all(
      names.map((n) =>
        s.ctx.queues.ensure(n).catch((e: unknown) => {
          if (!isAbsent(e)) s.ctx.logger.warn("okq: QREGISTER could not create a queue", { queue: n, error: e });
        }),
      ),
    );
    return OK;
  },
};

/** Longest single Peek long-poll; a longer QNOTIFY runs several in a row. */
const PEEK_WAIT_MS = 60_000;

/**
 * Waits until `queue` has an available event (true) or `deadlineMs` passes (false), on the
 * broker's own notification (Peek with wait_ms), never by polling. A queue that does not exist
 * yet is waited for until this bridge creates it.
 */
async function waitForEvent(
  ctx: OkqContext,
  clients: BrokerClients,
  queue: string,
  deadlineMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  // The first look is made even with no time left: QNOTIFY 0 still reports a queue with events.
  for (let first = true; ; first = false) {
    const left = Math.max(0, deadlineMs - Date.now());
    if ((!first && left <= 0) || signal.aborted) return false;
    try {
      const res = await clients.subscriber.peek(
        { subscription: queue, maxMessages: 1, waitMs: Math.min(left, PEEK_WAIT_MS) },
        { signal },
      );
      if (res.messages.length > 0) return true;
    } catch (e) {
      if (signal.aborted) return false;
      if (!isAbsent(e)) throw e;
      if (left <= 0) return false;
      // Until the bridge creates the queue or the deadline passes; `over` ends the loser of the race.
      const over = new AbortController();
      const link = linkSignals(signal, over.signal);
      try {
        await Promise.race([ctx.queues.created(queue, link.signal), sleepUntil(deadlineMs, link.signal)]);
      } catch {
        return false;
      } finally {
        over.abort();
        link.dispose();
      }
    }
  }
}

/**
 * `QNOTIFY timeout`: the name of a registered queue with an event waiting, at once if one has,
 * else as soon as one gets one; nil after `timeout` seconds. Without QREGISTER it just waits.
 */
export const QNOTIFY: CommandSpec = {
  minArgs: 1,
  async run(s, args) {
    const timeout = parseOkqInt(args[0] as Buffer, "timeout");
    if (typeof timeout !== "number") return timeout;
    const deadlineMs = Date.now() + timeout * 1000;
    const done = new AbortController();
    const link = linkSignals(s.signal, done.signal);
    const { signal } = link;
    // The wait ends at its deadline whatever the long-polls do (QNOTIFY 0 still takes its first look).
    if (timeout > 0) void sleepUntil(deadlineMs, signal).then(() => done.abort());
    try {
      if (s.registered.length === 0) {
        await sleepUntil(deadlineMs, signal);
        return NULL;
      }
      const ready = await firstReady(s.clients, s.registered);
      if (ready !== undefined) return bulk(ready);
      const winner = await new Promise<string | undefined>((resolve, reject) => {
        let pending = s.registered.length;
        for (const queue of s.registered) {
          waitForEvent(s.ctx, s.clients, queue, deadlineMs, signal).then((ready) => {
            if (ready) resolve(queue);
            else if (--pending === 0) resolve(undefined);
          }, reject);
        }
      });
      return winner === undefined ? NULL : bulk(winner);
    } catch (e) {
      return errorReply(e, s.ctx.logger, "QNOTIFY");
    } finally {
      done.abort();
      link.dispose();
    }
  },
};

/**
 * The first registered queue (in QREGISTER order) with an event available now, from one GetStats
 * call for all of them; undefined when none has one or the stats cannot say (then the long-polls
 * decide).
 */
async function firstReady(clients: BrokerClients, queues: readonly string[]): Promise<string | undefined> {
  let subs: SubscriptionStats[];
  try {
    subs = (await clients.admin.getStats({ topics: [...queues] })).subscriptions;
  } catch (e) {
    if (isDenied(e)) throw e;
    return undefined;
  }
  const ready = new Set(
    subs.filter((x) => isQueueSub(x) && !x.paused && x.backlog - x.inFlight - x.delayed > 0n).map((x) => x.name),
  );
  return queues.find((q) => ready.has(q));
}

/** Longest delay one Node timer takes (2^31-1 ms); a longer wait re-arms until its deadline. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves at `deadlineMs` (however far: the timer is re-armed in steps) or when `signal` aborts. */
function sleepUntil(deadlineMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      resolve();
    };
    const arm = () => {
      const left = deadlineMs - Date.now();
      if (left <= 0) return finish();
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    signal.addEventListener("abort", finish, { once: true });
    arm();
  });
}

/** One queue's numbers: total (unacked), processing (leased), consumers (registered here). */
interface QueueStatus {
  name: string;
  total: number;
  processing: number;
  consumers: number;
}

const isQueueSub = (s: SubscriptionStats) => s.name === s.topic;

/**
 * The queues QSTATUS/QINFO report: the ones named, or (no names) every queue with events or
 * registered consumers, sorted by name (okQ 3ed64e7 sorts; b690c53's order was Redis' key order).
 */
async function queueStatuses(s: CommandSession, args: readonly Buffer[]): Promise<QueueStatus[]> {
  const { ctx } = s;
  const of = (name: string, stats: SubscriptionStats | undefined): QueueStatus => ({
    name,
    total: Number(stats?.backlog ?? 0n),
    processing: Number(stats?.inFlight ?? 0n),
    consumers: ctx.consumers.count(name),
  });
  if (args.length > 0) {
    return Promise.all(
      args.map(async (arg) => {
        const name = utf8(arg) ?? arg.toString("latin1");
        if (utf8(arg) === undefined) return of(name, undefined);
        try {
          const res = await s.clients.admin.getStats({ topics: [name] });
          return of(
            name,
            res.subscriptions.find((x) => x.name === name && isQueueSub(x)),
          );
        } catch (e) {
          if (isAbsent(e)) return of(name, undefined);
          throw e;
        }
      }),
    );
  }
  const res = await s.clients.admin.getStats({ topics: [] });
  const byName = new Map(res.subscriptions.filter(isQueueSub).map((x) => [x.name, x]));
  const names = new Set([...byName.values()].filter((x) => x.backlog > 0n).map((x) => x.name));
  for (const q of ctx.consumers.queues()) names.add(q);
  return [...names].sort().map((n) => of(n, byName.get(n)));
}

/**
 * `QSTATUS [queue ...]`: by default the seed README's strings
 * (`<queue> total: <n> processing: <n> consumers: <n>`); with the `nested` option okQ
 * 3ed64e7's `[name, :total, :processing, :consumers]` arrays.
 */
export const QSTATUS: CommandSpec = {
  minArgs: 0,
  async run(s, args) {
    try {
      const statuses = await queueStatuses(s, args);
      if (s.ctx.options.qstatusFormat === "nested") {
        return array(statuses.map((q) => array([bulk(q.name), int(q.total), int(q.processing), int(q.consumers)])));
      }
      return array(
        statuses.map((q) => bulk(`${q.name} total: ${q.total} processing: ${q.processing} consumers: ${q.consumers}`)),
      );
    } catch (e) {
      return errorReply(e, s.ctx.logger, "QSTATUS");
    }
  },
};

/** `QINFO [queue ...]` (okQ 3ed64e7): QSTATUS as column-aligned strings. */
export const QINFO: CommandSpec = {
  minArgs: 0,
  async run(s, args) {
    try {
      const statuses = await queueStatuses(s, args);
      const width = (pick: (q: QueueStatus) => string) => Math.max(0, ...statuses.map((q) => pick(q).length));
      const wName = width((q) => q.name);
      const wTotal = width((q) => String(q.total));
      const wProc = width((q) => String(q.processing));
      const wCons = width((q) => String(q.consumers));
      const lines = statuses.map(
        (q) =>
          `${q.name.padEnd(wName)}  total: ${String(q.total).padEnd(wTotal)}  processing: ${String(q.processing).padEnd(wProc)}  consumers: ${String(q.consumers).padEnd(wCons)}`,
      );
      return array(lines.map((l) => bulk(l)));
    } catch (e) {
      return errorReply(e, s.ctx.logger, "QINFO");
    }
  },
};
