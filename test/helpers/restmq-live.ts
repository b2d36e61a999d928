import * as http from "node:http";
import { WebSocket } from "ws";

/** Polls `check` every 10 ms until it holds, failing after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A comet consumer over a real HTTP/1.1 connection, its stream split into CRLF-terminated lines. */
export interface CometClient {
  /** Complete lines received so far (without their CRLF). */
  readonly lines: string[];
  /** Set once the status line and headers arrived. */
  response(): http.IncomingMessage | undefined;
  /** Raw bytes received so far (headers excluded). */
  bytes(): number;
  /** Resolves once the server ended the stream (or the connection closed). */
  readonly ended: Promise<void>;
  /** Resolves when at least `n` lines arrived. */
  waitForLines(n: number, timeoutMs?: number): Promise<string[]>;
  /** Pauses reading (the socket stops draining). */
  pause(): void;
  close(): void;
}

/** Opens `GET <path>` on `address` (`host:port`) and keeps reading. */
export function openComet(address: string, path: string, headers: Record<string, string> = {}): CometClient {
  const lines: string[] = [];
  let pending = "";
  let res: http.IncomingMessage | undefined;
  let received = 0;
  const agent = new http.Agent({ keepAlive: false });
  const i = address.lastIndexOf(":");
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => {
    resolveEnded = r;
  });
  const target = { host: address.slice(0, i), port: Number(address.slice(i + 1)), path, agent, headers };
  const req = http.get(target, (response) => {
    res = response;
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      received += Buffer.byteLength(chunk);
      pending += chunk;
      let eol = pending.indexOf("\r\n");
      while (eol >= 0) {
        lines.push(pending.slice(0, eol));
        pending = pending.slice(eol + 2);
        eol = pending.indexOf("\r\n");
      }
    });
    response.on("end", resolveEnded);
    response.on("close", resolveEnded);
    response.on("error", resolveEnded);
  });
  req.on("error", resolveEnded);
  req.on("close", resolveEnded);
  return {
    lines,
    response: () => res,
    bytes: () => received,
    ended,
    async waitForLines(n, timeoutMs = 5000) {
      await waitUntil(() => lines.length >= n, `${n} comet lines on ${path} (have ${lines.length})`, timeoutMs);
      return lines.slice(0, n);
    },
    pause: () => req.socket?.pause(),
    close() {
      req.destroy();
      agent.destroy();
    },
  };
}

/** A websocket consumer that records the text frames it receives. */
export interface WsClient {
  readonly ws: WebSocket;
  readonly messages: string[];
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
  waitForMessages(n: number, timeoutMs?: number): Promise<string[]>;
}

/** Opens `ws://<address><path>` and waits for the handshake. */
export async function openWs(address: string, path: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const ws = new WebSocket(`ws://${address}${path}`, { headers, perMessageDeflate: false });
  const messages: string[] = [];
  ws.on("message", (data) => messages.push(String(data)));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
  return {
    ws,
    messages,
    closed,
    async waitForMessages(n, timeoutMs = 5000) {
      await waitUntil(
        () => messages.length >= n,
        `${n} websocket frames on ${path} (have ${messages.length})`,
        timeoutMs,
      );
      return messages.slice(0, n);
    },
  };
}

/** Reads a sample of `switchyard_bridge_*` from the RPC port's /metrics, 0 when absent. */
export async function bridgeMetric(baseUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}
