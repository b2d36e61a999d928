/** Temporary data directories for brokers under test. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Creates a fresh directory under the OS temp dir, named `switchyard-bench-<label>-XXXXXX`. */
export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `switchyard-bench-${label.replace(/[^a-z0-9-]/gi, "_")}-`));
}

/** Removes `dir` and everything under it (no error if it is gone). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
