/** An OPQ producer for tests: raw HTTP requests with exactly the headers and body given. */
import * as http from "node:http";

/** An answer of the OPQ listener, byte for byte. */
export interface OpqAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Options of {@link opqRequest}. */
export interface OpqRequestOptions {
  method?: string;
  /** Header lines as sent, in order (a name twice sends it twice). */
  headers?: [string, string][];
  body?: string | Buffer;
}

/**
 * Sends one request to `base` (`http://host:port`) + `path` on its own connection (closed after
 * the answer) and resolves with the answer.
 */
export function opqRequest(base: string, path: string, options: OpqRequestOptions = {}): Promise<OpqAnswer> {
  return new Promise((resolve, reject) => {
    const body = options.body ?? "";
    const headers = (options.headers ?? []).flat();
    const url = new URL(`${base}${path}`);
    const req = http.request(url, {
      method: options.method ?? "POST",
      agent: false,
      // Raw header lists get no defaults from Node: Host and Content-Length are ours to send.
      headers: ["Host", url.host, ...headers, "Content-Length", String(Buffer.byteLength(body))],
      timeout: 20_000,
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("latin1") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 20 s")));
    req.on("error", reject);
    req.end(body);
  });
}

/** A url-encoded POST of `fields` (a pair list, so a name may repeat) to `/opq/push` or `/opq/replay`. */
export function opqForm(base: string, path: string, fields: [string, string][], headers: [string, string][] = []) {
  const body = new URLSearchParams(fields).toString();
  return opqRequest(base, path, {
    headers: [["Content-Type", "application/x-www-form-urlencoded"], ...headers],
    body,
  });
}

/** Pushes one message; fails the test unless OPQ answers `201 success`. */
export async function opqPush(base: string, topic: string, url: string, fields: [string, string][] = []) {
  const a = await opqForm(base, "/opq/push", [["topic", topic], ["url", url], ...fields]);
  if (a.status !== 201 || a.body !== "success") throw new Error(`push answered ${a.status} ${a.body}`);
}

/** A multipart body as PHP's curl extension sends an array in CURLOPT_POSTFIELDS. */
export function phpMultipart(fields: [string, string][]): { contentType: string; body: string } {
  const boundary = "------------------------d74496d66958873e";
  const parts = fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: `${parts.join("")}--${boundary}--\r\n` };
}
