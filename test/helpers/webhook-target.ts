import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the target received. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** True once the request's connection closed before an answer (the sender gave up). */
  aborted(): boolean;
}

/** What the target does with a request: answer with a status now, or hold it open until released. */
export type Behavior = (req: Received, index: number) => number | "hold";

/** A local HTTP server standing in for a webhook endpoint. */
export interface WebhookTarget {
  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly received: Received[];
  /** Requests to `path` so far. */
  at(path: string): Received[];
  /** Sets the behavior of `path` (default for every path: 200). */
  on(path: string, behavior: Behavior): void;
  /** Answers every held request (of `path`, or all) with `status`. */
  release(status: number, path?: string): void;
  /** Requests open right now, and the most open at once so far, per path. */
  concurrent(path: string): number;
  maxConcurrent(path: string): number;
  /** Resolves when `path` has received `n` requests (rejects after `timeoutMs`). */
  waitFor(path: string, n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** Starts a webhook target on 127.0.0.1, on `port` (default 0: a free one). */
export async function startWebhookTarget(port = 0): Promise<WebhookTarget> {
  const received: Received[] = [];
  const behaviors = new Map<string, Behavior>();
  const held = new Map<string, Set<ServerResponse>>();
  const open = new Map<string, number>();
  const maxOpen = new Map<string, number>();
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      let closedEarly = false;
      const r: Received = {
        method: req.method ?? "",
        path,
        headers: req.headers,
        body: Buffer.concat(chunks),
        aborted: () => closedEarly,
      };
      const index = received.filter((x) => x.path === path).length;
      received.push(r);
      open.set(path, (open.get(path) ?? 0) + 1);
      maxOpen.set(path, Math.max(maxOpen.get(path) ?? 0, open.get(path) ?? 0));
      res.on("close", () => {
        if (!res.writableFinished) closedEarly = true;
        open.set(path, (open.get(path) ?? 1) - 1);
        held.get(path)?.delete(res);
      });
      for (const w of waiters) w();
      const behavior = behaviors.get(path) ?? (() => 200);
      const what = behavior(r, index);
      if (what === "hold") {
        let set = held.get(path);
        if (!set) {
          set = new Set();
          held.set(path, set);
        }
        set.add(res);
        return;
      }
      // A 3xx points somewhere else on this server, so a client that follows redirects would show up there.
      const location = what >= 300 && what < 400 ? { location: "/elsewhere" } : {};
      res.writeHead(what, { "content-type": "text/plain", ...location }).end("answer body the broker does not need");
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: (path) => `http://127.0.0.1:${bound}${path}`,
    received,
    at: (path) => received.filter((r) => r.path === path),
    on: (path, behavior) => behaviors.set(path, behavior),
    release(status, path) {
      for (const [p, set] of held) {
        if (path !== undefined && p !== path) continue;
        for (const res of set) res.writeHead(status).end();
        set.clear();
      }
    },
    concurrent: (path) => open.get(path) ?? 0,
    maxConcurrent: (path) => maxOpen.get(path) ?? 0,
    waitFor(path, n, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const got = received.filter((r) => r.path === path);
          if (got.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(got);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`${path}: ${received.filter((r) => r.path === path).length} of ${n} requests in ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const set of held.values()) for (const res of set) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
