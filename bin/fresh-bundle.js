// @ts-check
/**
 * The compiled start (README "Running"): `bin/switchyard.js` runs one esbuild bundle of the
 * TypeScript sources and their pure-JS dependencies instead of compiling hundreds of modules
 * through tsx on every start. The bundle is rebuilt whenever it may be stale, so a source edit is
 * never served old:
 *
 * - esbuild's metafile names every file that went into the bundle (our sources and the
 *   node_modules files); their size and mtime are recorded next to the bundle, with tsconfig.json
 *   and this file. A start stats each of them (~600 files, a few ms) and rebuilds on any difference,
 *   or when the record or the bundle is missing.
 * - A file changed while a build runs has an mtime at or after the build's start (less a clock
 *   slack): such a build is used once but not recorded, so the next start builds again.
 * - Outputs are written to temporary names and renamed, so concurrent starts never read a torn
 *   bundle, and the record is renamed last. A build removes the temporary files of builds whose
 *   process is gone (killed mid-write).
 * - When the output directory cannot be written (a read-only checkout), the build rejects with a
 *   {@link BundleWriteError}, so the caller can start another way (bin/switchyard.js falls back to
 *   compiling the sources at start through tsx).
 *
 * Native and worker-thread packages stay external (lmdb loads a .node file; pino and pino-pretty
 * are resolved from node_modules at run time like any import). Plain JS with JSDoc types, because
 * it must run before anything can compile TypeScript.
 */
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Packages left out of the bundle and imported from node_modules at run time. */
export const BUNDLE_EXTERNALS = ["lmdb", "pino", "pino-pretty"];

/** Bumped when the record's shape or the build options change: an old record then means stale. */
const RECORD_VERSION = 2;

/**
 * File times come from the kernel's coarse clock, which may lag `Date.now()` by a tick (1-10 ms):
 * an input with an mtime this close before the build's start counts as changed during the build.
 */
const CLOCK_SLACK_MS = 50;

/**
 * Bundled CommonJS packages call `require` for Node's built-ins; an ESM bundle has none, so it
 * gets one made for its own URL.
 */
const REQUIRE_BANNER =
  'import { createRequire as __switchyardCreateRequire } from "node:module";\n' +
  "const require = __switchyardCreateRequire(import.meta.url);";

/** The bundle built but could not be written (its directory is read-only, full, or not a directory). */
export class BundleWriteError extends Error {
  /**
   * @param {string} path
   * @param {unknown} cause
   */
  constructor(path, cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`cannot write ${path}: ${reason}`, { cause });
    this.name = "BundleWriteError";
  }
}

/**
 * @typedef {object} BundleOptions
 * @property {string} rootDir The project root (package.json, tsconfig.json, node_modules).
 * @property {string} entry The entry point, relative to `rootDir`.
 * @property {string} outFile The bundle, relative to `rootDir` (its record is `outFile + ".inputs.json"`).
 */

/**
 * @typedef {object} FreshBundle
 * @property {string} path Absolute path of an up-to-date bundle.
 * @property {boolean} built Whether this call (re)built it.
 */

/** @typedef {[path: string, sizeBytes: number, mtimeMs: number]} InputStamp */

/**
 * Returns the bundle of `entry`, building it first when it is missing or any input changed.
 * Rejects (with esbuild's messages) when the sources do not build.
 * @param {BundleOptions} options
 * @returns {Promise<FreshBundle>}
 */
export async function freshBundle(options) {
  const outPath = resolve(options.rootDir, options.outFile);
  if (isFresh(options.rootDir, outPath)) return { path: outPath, built: false };
  assertWritable(dirname(outPath)); // before a build whose output could not be kept
  await buildBundle(options);
  return { path: outPath, built: true };
}

/**
 * Throws a {@link BundleWriteError} when `dir`, or the nearest ancestor that exists, cannot be
 * written (a read-only mount or checkout).
 * @param {string} dir
 */
function assertWritable(dir) {
  let at = dir;
  while (statSync(at, { throwIfNoEntry: false }) === undefined && dirname(at) !== at) at = dirname(at);
  try {
    accessSync(at, constants.W_OK);
  } catch (e) {
    throw new BundleWriteError(dir, e);
  }
}

/**
 * Whether the bundle at `outPath` exists and every input recorded for it still has its size and mtime.
 * @param {string} rootDir
 * @param {string} outPath
 * @returns {boolean}
 */
export function isFresh(rootDir, outPath) {
  /** @type {{version?: number, inputs?: InputStamp[]}} */
  let record;
  try {
    record = JSON.parse(readFileSync(recordPath(outPath), "utf8"));
  } catch {
    return false;
  }
  if (record.version !== RECORD_VERSION || !Array.isArray(record.inputs)) return false;
  if (statSync(outPath, { throwIfNoEntry: false }) === undefined) return false;
  for (const [path, sizeBytes, mtimeMs] of record.inputs) {
    const st = statSync(resolve(rootDir, path), { throwIfNoEntry: false });
    if (st === undefined || st.size !== sizeBytes || st.mtimeMs !== mtimeMs) return false;
  }
  return true;
}

/**
 * Builds the bundle (with a linked source map) and records its inputs.
 * @param {BundleOptions} options
 * @returns {Promise<void>}
 */
export async function buildBundle(options) {
  const { rootDir } = options;
  const outPath = resolve(rootDir, options.outFile);
  const startedMs = Date.now();
  const esbuild = await import("esbuild");
  const built = esbuild.build({
    absWorkingDir: rootDir,
    entryPoints: [options.entry],
    outfile: outPath,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: BUNDLE_EXTERNALS,
    banner: { js: REQUIRE_BANNER },
    sourcemap: "linked",
    // Mappings only: the sources are on disk, and their text in the map would be held in memory
    // by --enable-source-maps (about 15 MiB of an idle broker's anonymous memory).
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: "silent", // the rejection carries the messages
  });
  // esbuild's JS API keeps a service child process for later builds; a broker needs no more.
  const result = await built.finally(() => esbuild.stop());
  /** @type {InputStamp[]} */
  const inputs = [];
  let changedDuringBuild = false;
  const extraInputs = [
    "tsconfig.json",
    relative(rootDir, fileURLToPath(import.meta.url)),
    "node_modules/esbuild/package.json", // a new esbuild may bundle differently
  ];
  for (const input of [...Object.keys(result.metafile.inputs), ...extraInputs]) {
    const st = statSync(resolve(rootDir, input), { throwIfNoEntry: false });
    if (st === undefined) continue; // esbuild's virtual inputs; a missing tsconfig.json
    if (st.mtimeMs >= startedMs - CLOCK_SLACK_MS) changedDuringBuild = true;
    inputs.push([input, st.size, st.mtimeMs]);
  }
  try {
    mkdirSync(dirname(outPath), { recursive: true });
    removeOrphanTemps(dirname(outPath));
    rmSync(recordPath(outPath), { force: true });
    // The source map first, the bundle next, the record last: a reader that sees the record sees both.
    const files = [...result.outputFiles].sort((a, b) => Number(a.path === outPath) - Number(b.path === outPath));
    for (const file of files) writeAtomically(file.path, file.contents);
    if (!changedDuringBuild) {
      writeAtomically(recordPath(outPath), JSON.stringify({ version: RECORD_VERSION, inputs }));
    }
  } catch (e) {
    throw new BundleWriteError(outPath, e);
  }
}

/** A temporary output's name: `.<pid>.<random>.tmp` (see {@link writeAtomically}). */
const TEMP_NAME = /^\.(\d+)\.[a-z0-9]+\.tmp$/;

/**
 * Removes the temporary outputs in `dir` left by builds whose process is gone.
 * @param {string} dir
 */
function removeOrphanTemps(dir) {
  for (const name of readdirSync(dir)) {
    const pid = TEMP_NAME.exec(name)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) rmSync(join(dir, name), { force: true });
  }
}

/**
 * @param {number} pid
 * @returns {boolean}
 */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === "EPERM"; // alive, someone else's
  }
}

/**
 * @param {string} outPath
 * @returns {string}
 */
function recordPath(outPath) {
  return `${outPath}.inputs.json`;
}

/**
 * @param {string} path
 * @param {string | Uint8Array} contents
 */
function writeAtomically(path, contents) {
  const tmp = join(dirname(path), `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
