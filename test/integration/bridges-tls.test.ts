/**
 * With --tls-cert and --tls-key every HTTP listener serves TLS only, like the RPC port and the TCP
 * bridges: RestMQ, OPQ, GopherMQ, GopherMQ's metrics port and ohpq's HTTP port answer over HTTPS
 * (the certificate made at test time), HTTP Basic works there, and a cleartext request gets no
 * HTTP answer at all (README "Auth and TLS"). Real server, real sockets.
 */
import assert from "node:assert/strict";
import * as https from "node:https";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { MATRIX_USERS } from "../helpers/auth-matrix.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { type TestCertificateFiles, writeTestCertificate } from "../helpers/test-certificate.js";

let certificate: TestCertificateFiles;
let server: TestServer;

before(async () => {
  certificate = await writeTestCertificate();
  server = await startTestServer({
    config: { users: MATRIX_USERS, tlsCert: certificate.certFile, tlsKey: certificate.keyFile },
  });
});
after(async () => {
  await server?.close();
  await certificate.remove();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** One HTTPS request (HTTP/1.1, the test certificate as the only CA); resolves with status and body. */
function httpsRequest(
  address: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port, method, path, headers, ca: certificate.cert, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

/** What a cleartext HTTP/1.1 request gets back before the connection ends (bounded). */
function cleartextAnswer(address: string): Promise<string> {
  const port = Number(address.slice(address.lastIndexOf(":") + 1));
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.on("data", (b: Buffer) => {
      text += b.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  });
}

const HTTP_LISTENERS = ["restmq", "opq", "gophermq", "gophermq-metrics", "ohpq-http"];

describe("bridges over TLS", () => {
  for (const key of HTTP_LISTENERS) {
    it(`bridges tls - ${key}: a cleartext request gets no HTTP answer`, async () => {
      const address = server.addresses[key] as string;
      assert.ok(address, `${key} is on`);
      assert.doesNotMatch(await cleartextAnswer(address), /^HTTP\//);
    });
  }

  it("bridges tls - RestMQ takes HTTP Basic over TLS: add and take as the matrix users", async () => {
    const rest = server.addresses.restmq as string;
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const refused = await httpsRequest(rest, "POST", "/q/orders", form, "value=hi");
    assert.equal(refused.status, 401);
    const added = await httpsRequest(
      rest,
      "POST",
      "/q/orders",
      { ...form, authorization: basic("pub", "pub-pw") },
      "value=hi",
    );
    assert.deepEqual(added, { status: 200, body: "orders:1\r\n" });
    const taken = await httpsRequest(rest, "GET", "/q/orders", { authorization: basic("sub", "sub-pw") });
    assert.equal(taken.status, 200);
    assert.match(taken.body, /"value": "hi"/);
  });

  it("bridges tls - GopherMQ, its metrics port, ohpq's HTTP port and OPQ answer over TLS", async () => {
    const ready = await httpsRequest(server.addresses.gophermq as string, "GET", "/ready");
    assert.equal(ready.status, 204, "GopherMQ's /ready: 204 No Content");
    const metrics = await httpsRequest(server.addresses["gophermq-metrics"] as string, "GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^# HELP /m);
    const health = await httpsRequest(server.addresses["ohpq-http"] as string, "GET", "/health");
    assert.equal(health.status, 200);
    const opq = await httpsRequest(server.addresses.opq as string, "POST", "/opq/push", {
      "content-type": "application/x-www-form-urlencoded",
    });
    assert.equal(opq.status, 401, "OPQ asks for credentials, over TLS");
  });
});
