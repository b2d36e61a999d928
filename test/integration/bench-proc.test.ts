/**
 * The bench's broker sampler (bench/lib/proc.ts) splits RSS into its anonymous and file-backed
 * parts. Measured on a real child process: one that fills anonymous memory shows it in `anon`,
 * one that reads a file through a map (LMDB's data file, the way the broker reads its log) shows
 * it in `file`, and the parts add up to VmRSS.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { open } from "lmdb";
import { ProcSampler, type RssParts, readStatusKib } from "../../bench/lib/proc.js";

const linux = process.platform === "linux";

/** Starts `node -e script`; resolves once it prints "ready", killed after the test. */
async function child(t: TestContext, script: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => c.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    c.stdout?.setEncoding("utf8").on("data", (s: string) => {
      if (s.includes("ready")) resolve();
    });
    c.once("exit", (code) => reject(new Error(`child exited (${code}) before it was ready`)));
  });
  return c;
}

function partsNow(pid: number): RssParts {
  const usage = new ProcSampler(() => pid, 1000).stop();
  assert.ok(usage.endParts, "the sampler read /proc");
  return usage.endParts;
}

function assertSums(p: RssParts): void {
  const sum = (p.anonMiB ?? 0) + (p.fileMiB ?? 0) + (p.shmemMiB ?? 0);
  assert.ok(Math.abs(sum - p.rssMiB) <= 0.5, `anon + file + shmem ${sum} = VmRSS ${p.rssMiB}`);
}

describe("bench ProcSampler: RSS parts", { skip: !linux && "reads /proc (Linux)" }, () => {
  it("reads the status fields of a process, and none of a process that is gone", () => {
    const st = readStatusKib(process.pid, ["VmRSS", "RssAnon", "RssFile", "NoSuchField"] as const);
    assert.ok((st.VmRSS ?? 0) > 0 && (st.RssAnon ?? 0) > 0 && (st.RssFile ?? 0) > 0);
    assert.equal(st.NoSuchField, undefined);
    assert.deepEqual(readStatusKib(2 ** 22 + 12345, ["VmRSS"] as const), {});
  });

  it("puts anonymous memory in anon", async (t) => {
    const idle = await child(t, 'console.log("ready"); setInterval(() => {}, 1000);');
    const filled = await child(
      t,
      'const b = Buffer.alloc(96 * 1024 * 1024, 1); console.log("ready"); setInterval(() => b[0]++, 1000);',
    );
    const a = partsNow(idle.pid as number);
    const b = partsNow(filled.pid as number);
    assertSums(a);
    assertSums(b);
    assert.ok((b.anonMiB ?? 0) - (a.anonMiB ?? 0) >= 90, `anon ${a.anonMiB} -> ${b.anonMiB} MiB`);
    assert.ok(Math.abs((b.fileMiB ?? 0) - (a.fileMiB ?? 0)) < 16, `file ${a.fileMiB} vs ${b.fileMiB} MiB`);
  });

  it("puts pages of a file read through LMDB's map in file, and the peak sample's parts in peakParts", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-proc-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const db = open<Buffer, number>({ path: dir, keyEncoding: "uint32", encoding: "binary" });
    const value = Buffer.alloc(64 * 1024, 7);
    await db.transaction(() => {
      for (let i = 0; i < 1024; i++) db.putSync(i, value);
    });
    await db.close();
    // getBinaryFast copies each value into one reused buffer: reading adds no anonymous memory.
    const reader = await child(
      t,
      `const { open } = require(${JSON.stringify(createRequire(import.meta.url).resolve("lmdb"))});
       const db = open({ path: ${JSON.stringify(dir)}, keyEncoding: "uint32", encoding: "binary" });
       console.log("ready");
       setTimeout(() => { let n = 0; for (let i = 0; i < 1024; i++) n += db.getBinaryFast(i).length; console.log("read " + n); }, 500);
       setInterval(() => {}, 1000);`,
    );
    const before = partsNow(reader.pid as number);
    const sampler = new ProcSampler(() => reader.pid as number, 100);
    await new Promise<void>((resolve) => {
      reader.stdout?.on("data", (s: string) => {
        if (s.includes("read ")) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    const usage = sampler.stop();
    const { peakParts: peak, endParts: end } = usage;
    assert.ok(peak && end);
    assertSums(peak);
    assertSums(end);
    assert.equal(peak.rssMiB, usage.peakRssMiB);
    // 64 MiB of values were read through the map: file pages, not anonymous memory.
    const fileGrew = (end.fileMiB ?? 0) - (before.fileMiB ?? 0);
    const anonGrew = (end.anonMiB ?? 0) - (before.anonMiB ?? 0);
    assert.ok(fileGrew >= 60, `file ${before.fileMiB} -> ${end.fileMiB} MiB`);
    assert.ok(anonGrew < 16, `anon ${before.anonMiB} -> ${end.anonMiB} MiB`);
  });
});
