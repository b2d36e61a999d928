/**
 * What the hostile-transport fuzzers (h2-hostile.fuzz.ts, bridge-hostile.fuzz.ts) share: a watch
 * on uncaught exceptions and unhandled rejections while a fuzzer runs, an async poll, and the
 * fuzz target around a running server.
 */
import assert from "node:assert/strict";
import type { Client } from "@connectrpc/connect";
import type fc from "fast-check";
import type { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { type Logger, silentLogger } from "../../src/util/index.js";
import type { FuzzTarget } from "./fuzz-kit.js";

/** Records every uncaught exception and unhandled rejection until {@link ProcessFaults.stop}. */
export interface ProcessFaults {
  /** What was caught since the last call (the call empties the list). */
  take(): string[];
  stop(): void;
}

/**
 * Starts recording process faults. While it records, an uncaught exception does not end the
 * process: the fuzzer reports it as a failing case instead (with its stack).
 */
export function watchProcessFaults(): ProcessFaults {
  const faults: string[] = [];
  const onError = (e: unknown) => faults.push(`uncaught: ${e instanceof Error ? e.stack : String(e)}`);
  const onRejection = (e: unknown) => faults.push(`unhandled rejection: ${e instanceof Error ? e.stack : String(e)}`);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onRejection);
  return {
    take: () => faults.splice(0),
    stop() {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onRejection);
    },
  };
}

/** Resolves when `cond` resolves true (polled every `everyMs`), rejects after `timeoutMs`. */
export async function eventually(
  cond: () => Promise<boolean> | boolean,
  what: () => string | Promise<string>,
  timeoutMs = 5_000,
  everyMs = 2,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${await what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What {@link hostileTarget} needs: the server, an admin client on it, and the fault watch. */
export interface HostileTargetParts {
  // biome-ignore lint/suspicious/noExplicitAny: fast-check's property types are generic over their arbitraries
  property: fc.IAsyncProperty<any>;
  server: { close(): Promise<void> };
  admin: Pick<Client<typeof AdminService>, "listTopics" | "deleteTopic">;
  faults: ProcessFaults;
}

/** The fuzz target of a hostile fuzzer: between rounds it deletes every topic; closing stops the watch. */
export function hostileTarget({ property, server, admin, faults }: HostileTargetParts): FuzzTarget {
  return {
    property,
    async reset() {
      const { topics } = await admin.listTopics({ pageSize: 1000 });
      for (const t of topics) await admin.deleteTopic({ name: t.name }).catch(() => {});
    },
    async close() {
      try {
        await server.close();
      } finally {
        faults.stop();
      }
    },
  };
}

/** The broker's logger for a hostile fuzzer, the process fault watch, and the check after each case. */
export interface HostileWatch {
  /** Pass to the server: it records what is logged as an error. */
  logger: Logger;
  faults: ProcessFaults;
  /** Fails the case on any uncaught exception, unhandled rejection or error logged since the last call. */
  assertClean(): void;
}

/** Starts the watch a hostile fuzzer keeps over the broker (see {@link HostileWatch}). */
export function watchHostile(): HostileWatch {
  const logged: string[] = [];
  const faults = watchProcessFaults();
  return {
    logger: { ...silentLogger, error: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`) },
    faults,
    assertClean() {
      assert.deepEqual(faults.take(), [], "no uncaught exception or unhandled rejection");
      assert.deepEqual(logged.splice(0), [], "nothing logged as an error");
    },
  };
}
