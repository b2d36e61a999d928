/**
 * Faults of the disk with real processes (README "Limits and failure behaviour"):
 * - fsync fails (an LD_PRELOAD shim built here with gcc makes fdatasync/fsync/msync fail after N
 *   calls): the broker answers STORE_FAILED, logs why once and exits 75, without Node's
 *   unhandled-rejection crash; restarted without the shim, every acknowledged publish is there
 *   exactly once and no answered ack is undone.
 * - the disk fills (a small tmpfs mounted here, which needs root): below --min-free-disk
 *   publishes are refused while consumers drain the broker, and publishes resume by themselves;
 *   with no floor the commit fails with ENOSPC and the broker stops as above. Nothing
 *   acknowledged is lost or doubled across restarts.
 * scripts/interop-preflight.sh checks for gcc and the permission to mount.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Client, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { type CrashClients, crashClients } from "../helpers/crash-clients.js";
import { ROOT, type RunningCli, startCli, testServeArgs } from "../helpers/spawn-cli.js";

const SHIM_SOURCE = join(ROOT, "test/interop/disk-faults/fail-sync.c");

function reasonOf(e: unknown): string {
  return ConnectError.from(e).findDetails(ErrorDetailSchema)[0]?.reason ?? `(no reason: ${String(e)})`;
}

/** Pulls and acks everything the subscription has, returning the ids in delivery order. */
async function drain(sub: Client<typeof SubscriberService>, subscription: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const got = await sub.pull({ subscription, maxMessages: 500, waitMs: 0 });
    if (got.messages.length === 0) return ids;
    for (const m of got.messages) ids.push(m.message?.id ?? "");
    await sub.ack({ subscription, ackIds: got.messages.map((m) => m.ackId) });
  }
}

/** Each id of `ids` once: returns those seen more than once. */
function doubled(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    if (seen.has(id)) return true;
    seen.add(id);
    return false;
  });
}

/** The log lines (JSON) whose msg starts with `prefix`. */
function logLines(stderr: string, prefix: string): string[] {
  return stderr.split("\n").filter((l) => l.includes(`"msg":"${prefix}`));
}

/** The process's exit; it is killed (and the test fails on its code) if it does not exit within `ms`. */
async function exitWithin(server: RunningCli, ms: number): Promise<{ code: number | null }> {
  const timer = setTimeout(() => server.child.kill("SIGKILL"), ms);
  try {
    return await server.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts the exit of a broker whose store failed: 75, one log line with the cause, no crash. */
function assertStoppedOnPurpose(server: RunningCli, exit: { code: number | null }, cause: RegExp): void {
  const err = server.stderr();
  assert.equal(exit.code, 75, `exit code 75 (the store failed), stderr:\n${err.slice(-3000)}`);
  const failed = logLines(err, "store failed");
  assert.equal(failed.length, 1, "the failure is logged once");
  assert.match(failed[0] as string, cause);
  assert.doesNotMatch(err, /unhandled|UnhandledPromiseRejection|triggerUncaughtException/i);
}

describe("disk faults", { concurrency: false }, () => {
  it("fsync fails - STORE_FAILED, exit 75; restarted, every acknowledged publish is there once and no answered ack is undone", async () => {
    const work = mkdtempSync(join(tmpdir(), "switchyard-fsync-"));
    try {
      const shim = join(work, "fail-sync.so");
      execFileSync("gcc", ["-shared", "-fPIC", "-O2", "-o", shim, SHIM_SOURCE, "-ldl"]);
      const dataDir = join(work, "data");
      mkdirSync(dataDir);
      const env = { LD_PRELOAD: shim, SY_FAIL_SYNC_AFTER: "80", SY_FAIL_SYNC_DIR: dataDir };
      const server = await startCli(testServeArgs(dataDir), { env });
      const c = crashClients(server.baseUrl);
      await c.admin.createTopic({ name: "jobs", queue: true });

      const published: string[] = [];
      const consumed: string[] = [];
      const ackUnknown: string[] = [];
      const reasons = new Set<string>();
      let stop = false;
      const publishers = Array.from({ length: 4 }, async (_, w) => {
        for (let n = 0; !stop; n++) {
          const ids = [0, 1, 2].map((i) => `p${w}-${n}-${i}`);
          try {
            await c.pub.publish({ topic: "jobs", messages: ids.map((id) => ({ id, data: new Uint8Array(300) })) });
            published.push(...ids);
          } catch (e) {
            reasons.add(reasonOf(e));
            stop = true;
          }
        }
      });
      const consumer = (async () => {
        while (!stop) {
          let got: Awaited<ReturnType<typeof c.sub.pull>>;
          try {
            got = await c.sub.pull({ subscription: "jobs", maxMessages: 20, waitMs: 50 });
          } catch {
            return;
          }
          const ids = got.messages.map((m) => m.message?.id ?? "");
          try {
            await c.sub.ack({ subscription: "jobs", ackIds: got.messages.map((m) => m.ackId) });
            consumed.push(...ids);
          } catch (e) {
            reasons.add(reasonOf(e));
            ackUnknown.push(...ids);
          }
        }
      })();
      await Promise.all([...publishers, consumer]);
      assert.ok(reasons.has("STORE_FAILED"), `a call saw STORE_FAILED: ${[...reasons].join(", ")}`);
      assert.ok(published.length > 0, "publishes succeeded before the fault");
      assertStoppedOnPurpose(server, await exitWithin(server, 20_000), /failed to commit or sync/);

      const again = await startCli(testServeArgs(dataDir));
      try {
        const after = await drain(crashClients(again.baseUrl).sub, "jobs");
        assert.deepEqual(doubled([...after, ...consumed]), [], "no message delivered twice across the restart");
        const stored = new Set([...after, ...consumed, ...ackUnknown]);
        const lost = published.filter((id) => !stored.has(id));
        assert.deepEqual(lost, [], "every acknowledged publish survives");
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("disk full - below --min-free-disk publishes are refused, consumers drain, publishes resume; without a floor ENOSPC stops the broker", async () => {
    const mnt = mkdtempSync(join(tmpdir(), "switchyard-tmpfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt]);
    try {
      const dataDir = join(mnt, "data");
      const data = new Uint8Array(64 * 1024).fill(7);
      const fill = async (c: CrashClients, prefix: string, acked: string[]) => {
        for (let n = 0; ; n++) {
          const ids = [0, 1, 2, 3].map((i) => `${prefix}-${n}-${i}`);
          try {
            await c.pub.publish({ topic: "jobs", messages: ids.map((id) => ({ id, data })) });
            acked.push(...ids);
          } catch (e) {
            return reasonOf(e);
          }
        }
      };

      // 1. With a floor: refused before the disk is full; the broker keeps serving.
      const floorArgs = [...testServeArgs(dataDir), "--min-free-disk", "12MiB"];
      let server = await startCli(floorArgs);
      let c = crashClients(server.baseUrl);
      await c.admin.createTopic({ name: "jobs", queue: true });
      const first: string[] = [];
      assert.equal(await fill(c, "a", first), "INSUFFICIENT_STORAGE");
      assert.ok(first.length >= 100, `published ${first.length} before the floor`);
      const health = await fetch(`${server.baseUrl}/healthz`);
      assert.equal(health.status, 200);
      assert.match(await health.text(), /low disk space/);
      assert.equal(logLines(server.stderr(), "free disk space is below --min-free-disk").length, 1);
      const drained = await drain(c.sub, "jobs");
      assert.deepEqual(doubled(drained), []);
      assert.deepEqual([...drained].sort(), [...first].sort(), "every acknowledged publish, once");
      // The freed LMDB pages count as free space: publishing resumes by itself.
      const deadline = Date.now() + 10_000;
      let resumed = false;
      while (!resumed && Date.now() < deadline) {
        resumed = await c.pub.publish({ topic: "jobs", messages: [{ id: "resumed", data }] }).then(
          () => true,
          () => false,
        );
        if (!resumed) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(resumed, "publishes resume after the drain");
      assert.equal((await server.stop()).code, 0);

      // 2. No floor: the commit fails with ENOSPC; the broker stops on purpose.
      server = await startCli([...testServeArgs(dataDir), "--min-free-disk", "0"]);
      c = crashClients(server.baseUrl);
      const second: string[] = [];
      assert.equal(await fill(c, "b", second), "STORE_FAILED");
      assertStoppedOnPurpose(server, await exitWithin(server, 20_000), /failed to commit or sync/);

      // 3. Space returns (the volume grows); restarted, every acknowledged publish is there once.
      execFileSync("mount", ["-o", "remount,size=96m", mnt]);
      server = await startCli(floorArgs);
      try {
        const after = await drain(crashClients(server.baseUrl).sub, "jobs");
        assert.deepEqual(doubled(after), []);
        const stored = new Set(after);
        assert.deepEqual(
          ["resumed", ...second].filter((id) => !stored.has(id)),
          [],
          "nothing acknowledged is lost",
        );
        assert.ok(after.length <= second.length + 1 + 4, "at most the failed batch besides");
      } finally {
        await server.stop();
      }
    } finally {
      execFileSync("umount", ["-l", mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
