/**
 * The compiled start (bin/switchyard.js, bin/fresh-bundle.js): `npm start` runs an esbuild bundle
 * of src/, rebuilt whenever one of its inputs changed. The broker started that way serves calls,
 * and the freshness check rebuilds after an edit, never serving the old code.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { pathToFileURL } from "node:url";
import { remapBundledFrames } from "../../bench/tools/cpuprofile-top.js";
import { BUNDLE_EXTERNALS, BundleWriteError, freshBundle, isFresh } from "../../bin/fresh-bundle.js";
import { crashClients } from "../helpers/crash-clients.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";

async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A two-file TypeScript project: `src/main.ts` exports the text of `src/word.ts`. */
async function tinyProject(t: TestContext): Promise<string> {
  const root = await tempDir(t, "switchyard-bundle-");
  await mkdir(join(root, "src"));
  await writeFile(join(root, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022" } }));
  await writeFile(
    join(root, "src", "main.ts"),
    'import { word } from "./word.js";\nexport const text: string = word;\n',
  );
  await writeWord(root, "alpha");
  // Files written just now count as edited during a build that starts now; these were there before.
  const before = new Date(Date.now() - 10_000);
  for (const f of ["tsconfig.json", "src/main.ts", "src/word.ts"]) await utimes(join(root, f), before, before);
  return root;
}

async function writeWord(root: string, word: string): Promise<void> {
  await writeFile(join(root, "src", "word.ts"), `export const word = ${JSON.stringify(word)};\n`);
}

/** Imports a bundle by a URL no earlier import used (the ESM cache would hand back the old module). */
async function textOf(path: string): Promise<string> {
  const mod = (await import(`${pathToFileURL(path).href}?v=${Math.random()}`)) as { text: string };
  return mod.text;
}

/** The repository's dist/ (gitignored), where bin/switchyard.js keeps its bundle. */
const DIST = join(import.meta.dirname, "../../dist");

const TINY = { entry: "src/main.ts", outFile: "out/main.js" };

describe("compiled start", () => {
  it("compiled start - bin/switchyard.js serve prints its ready line and serves a publish and a pull", async (t) => {
    const dataDir = await tempDir(t, "switchyard-compiled-");
    // No record: this start builds the bundle (as after a source edit), and must not keep esbuild running.
    await rm(join(DIST, "switchyard.js.inputs.json"), { force: true });
    const cli = await startCli(testServeArgs(dataDir), { entry: "bin/switchyard.js", importTsx: false });
    t.after(() => cli.stop("SIGKILL"));
    const pid = cli.child.pid as number;
    assert.equal((await readFile(`/proc/${pid}/task/${pid}/children`, "utf8")).trim(), "", "no esbuild service left");
    const c = crashClients(cli.baseUrl);
    await c.admin.createTopic({ name: "compiled", queue: true });
    const data = new TextEncoder().encode("from the bundle");
    await c.pub.publish({ topic: "compiled", messages: [{ id: "m1", data }] });
    const res = await c.sub.pull({ subscription: "compiled", maxMessages: 10, waitMs: 1000 });
    assert.deepEqual(
      res.messages.map((m) => [m.message?.id, new TextDecoder().decode(m.message?.data)]),
      [["m1", "from the bundle"]],
    );
    assert.deepEqual(await cli.stop("SIGTERM"), { code: 0, signal: null });
    const bundle = await stat(join(DIST, "switchyard.js"));
    assert.ok(bundle.size > 100_000, "the broker ran from dist/switchyard.js");
    assert.ok(isFresh(join(DIST, ".."), join(DIST, "switchyard.js")), "the start recorded its inputs");
  });

  it("compiled start - a bundle is built once, reused while its inputs are unchanged", async (t) => {
    const rootDir = await tinyProject(t);
    const first = await freshBundle({ rootDir, ...TINY });
    assert.equal(first.built, true);
    assert.equal(await textOf(first.path), "alpha");
    const again = await freshBundle({ rootDir, ...TINY });
    assert.deepEqual(again, { path: first.path, built: false });
  });

  it("compiled start - an edited source of the same size is rebuilt before it is served", async (t) => {
    const rootDir = await tinyProject(t);
    const { path } = await freshBundle({ rootDir, ...TINY });
    const wordFile = join(rootDir, "src", "word.ts");
    const before = await stat(wordFile);
    await writeWord(rootDir, "omega"); // as long as "alpha"
    // The size is unchanged, so only the mtime tells; an older mtime than the record's counts too.
    await utimes(wordFile, before.atime, new Date(before.mtimeMs - 1000));
    assert.equal(isFresh(rootDir, path), false);
    const rebuilt = await freshBundle({ rootDir, ...TINY });
    assert.equal(rebuilt.built, true);
    assert.equal(await textOf(rebuilt.path), "omega");
  });

  it("compiled start - a missing bundle, record or tsconfig.json change means a rebuild", async (t) => {
    const rootDir = await tinyProject(t);
    const { path } = await freshBundle({ rootDir, ...TINY });
    await rm(path);
    assert.equal((await freshBundle({ rootDir, ...TINY })).built, true);
    await rm(`${path}.inputs.json`);
    assert.equal((await freshBundle({ rootDir, ...TINY })).built, true);
    await writeFile(join(rootDir, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2020" } }));
    const past = new Date(Date.now() - 5_000); // not "during the build", so the rebuild is recorded
    await utimes(join(rootDir, "tsconfig.json"), past, past);
    assert.equal((await freshBundle({ rootDir, ...TINY })).built, true);
    assert.equal((await freshBundle({ rootDir, ...TINY })).built, false);
  });

  it("compiled start - a source that changed during the build is not recorded, so the next start rebuilds", async (t) => {
    const rootDir = await tinyProject(t);
    // An mtime after the build's start is what an edit during the build leaves behind.
    const future = new Date(Date.now() + 60_000);
    await utimes(join(rootDir, "src", "word.ts"), future, future);
    const first = await freshBundle({ rootDir, ...TINY });
    assert.equal(first.built, true);
    assert.equal(await textOf(first.path), "alpha", "the build is still used once");
    assert.equal(isFresh(rootDir, first.path), false);
    assert.equal((await freshBundle({ rootDir, ...TINY })).built, true);
  });

  it("compiled start - a source that does not compile rejects with esbuild's message, and the old bundle is not served", async (t) => {
    const rootDir = await tinyProject(t);
    const { path } = await freshBundle({ rootDir, ...TINY });
    await writeFile(join(rootDir, "src", "word.ts"), "export const word = ;\n");
    await assert.rejects(freshBundle({ rootDir, ...TINY }), /src\/word\.ts:1:20: ERROR: Unexpected ";"/);
    assert.equal(isFresh(rootDir, path), false, "the bundle from before the edit stays stale");
    await assert.rejects(freshBundle({ rootDir, ...TINY }), /Unexpected ";"/, "and the next start fails the same way");
  });

  it("compiled start - native and worker-thread packages are imported from node_modules, not bundled", async () => {
    const { path } = await freshBundle({
      rootDir: join(DIST, ".."),
      entry: "src/cli/main.ts",
      outFile: "dist/switchyard.js",
    });
    const bundle = await readFile(path, "utf8");
    for (const name of BUNDLE_EXTERNALS) assert.match(bundle, new RegExp(`^import .* from "${name}";$`, "m"), name);
    assert.doesNotMatch(bundle, /node_modules\/lmdb\//, "no lmdb source inside the bundle");
  });

  it("compiled start - an output that cannot be written rejects with BundleWriteError and leaves no temporary file", async (t) => {
    const rootDir = await tinyProject(t);
    await writeFile(join(rootDir, "blocked"), "a file where the output directory should be");
    await assert.rejects(freshBundle({ rootDir, entry: TINY.entry, outFile: "blocked/main.js" }), BundleWriteError);
    // The bundle's name taken by a directory: its rename fails after the temporary file was written.
    await mkdir(join(rootDir, "out", "main.js"), { recursive: true });
    await assert.rejects(freshBundle({ rootDir, ...TINY }), (e: unknown) => {
      assert.ok(e instanceof BundleWriteError);
      assert.match(e.message, /^cannot write .*out\/main\.js: /);
      return true;
    });
    const left = await readdir(join(rootDir, "out"));
    assert.deepEqual(
      left.filter((n) => n.endsWith(".tmp")),
      [],
      `no temporary file left: ${left}`,
    );
  });

  it("compiled start - a build removes the temporary files of builds whose process is gone", async (t) => {
    const rootDir = await tinyProject(t);
    await mkdir(join(rootDir, "out"));
    const dead = ".999999999.k1lled.tmp"; // above the kernel's largest pid: no such process
    const ours = `.${process.pid}.inflight.tmp`;
    for (const name of [dead, ours]) await writeFile(join(rootDir, "out", name), "partial");
    await freshBundle({ rootDir, ...TINY });
    const left = await readdir(join(rootDir, "out"));
    assert.ok(!left.includes(dead), `the dead build's file is gone: ${left}`);
    assert.ok(left.includes(ours), "a live process's file stays");
  });

  it("compiled start - a CPU profile of the bundle names source files and lines (cpuprofile-top)", async (t) => {
    const rootDir = await tinyProject(t);
    const { path } = await freshBundle({ rootDir, ...TINY });
    const lines = (await readFile(path, "utf8")).split("\n");
    const line = lines.findIndex((l) => l.includes('"alpha"'));
    assert.ok(line >= 0);
    const url = pathToFileURL(path).href;
    const frame = { functionName: "", url, lineNumber: line, columnNumber: lines[line]?.indexOf('"alpha"') };
    const profile = { nodes: [{ id: 1, callFrame: frame }], samples: [], timeDeltas: [] };
    remapBundledFrames(profile);
    assert.deepEqual(
      [profile.nodes[0]?.callFrame.url, profile.nodes[0]?.callFrame.lineNumber],
      [pathToFileURL(join(rootDir, "src", "word.ts")).href, 0],
    );
  });
});
