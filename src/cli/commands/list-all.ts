import type { ClientContext } from "../client/action.js";

/** At most this many pages are fetched by one list command (a bound on a misbehaving server). */
const MAX_PAGES = 10_000;

/** Fetches every page of a paginated List call, following `next_page_token`. */
export async function listAll<T>(
  ctx: ClientContext,
  page: (pageToken: string) => Promise<{ items: T[]; next: string }>,
): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  for (let i = 0; i < MAX_PAGES; i++) {
    const { items, next } = await page(token);
    all.push(...items);
    if (next === "" || ctx.signal.aborted) return all;
    token = next;
  }
  throw new Error(`the server returned more than ${MAX_PAGES} pages`);
}
