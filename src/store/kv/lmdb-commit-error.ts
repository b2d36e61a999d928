/** The error of a failed LMDB commit, with lmdb-js's details (see {@link commitError}). */
import { KvCommitError } from "./kv.js";
import { within } from "./within.js";

/** How long a commit failure's details (lmdb-js's `commitError`) are waited for. */
const COMMIT_ERROR_WAIT_MS = 1000;

/**
 * The error of a failed commit: lmdb-js rejects each write of the batch with "Commit failed"
 * and the cause (errno, LMDB code) in a `commitError` promise that rejects right after.
 */
export async function commitError(e: unknown): Promise<KvCommitError> {
  const details = (e as { commitError?: Promise<unknown> } | undefined)?.commitError;
  let cause: unknown = e;
  if (details && typeof details.then === "function") {
    const settled = details.then(
      () => e,
      (reason: unknown) => reason,
    );
    cause = (await within(settled, COMMIT_ERROR_WAIT_MS)) ?? e;
  }
  const what = cause instanceof Error ? cause.message : String(cause);
  return new KvCommitError(`LMDB failed to commit or sync a write: ${what}`, { cause });
}
