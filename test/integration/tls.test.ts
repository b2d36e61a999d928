/**
 * TLS on the RPC port and the TCP bridges (a certificate made at test time): ALPN picks HTTP/2
 * or HTTP/1.1, cleartext clients are refused, an untrusted certificate fails the client, clients
 * stuck in their handshake do not hold up shutdown, and a reload serves the new certificate.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { createTestClients } from "../helpers/clients.js";
import { startTestServer } from "../helpers/start-test-server.js";
import { createTestCertificate, type TestCertificateFiles, writeTestCertificate } from "../helpers/test-certificate.js";

let certificate: TestCertificateFiles;
before(async () => {
  certificate = await writeTestCertificate();
});
after(() => certificate.remove());

const tlsConfig = () => ({ tlsCert: certificate.certFile, tlsKey: certificate.keyFile });

function split(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Connects with TLS and the given ALPN list; resolves with the negotiated protocol. */
async function negotiate(address: string, alpn: string[], ca = certificate.cert): Promise<string | false> {
  const socket = tls.connect({ ...split(address), ca, ALPNProtocols: alpn });
  try {
    await new Promise((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    return socket.alpnProtocol ?? false;
  } finally {
    socket.destroy();
  }
}

describe("tls", () => {
  it("tls - the RPC port offers h2 and http/1.1 by ALPN; both serve the API", async (t) => {
    const server = await startTestServer({ config: tlsConfig() });
    t.after(() => server.close());
    assert.equal(await negotiate(server.addresses.rpc as string, ["h2", "http/1.1"]), "h2");
    assert.equal(await negotiate(server.addresses.rpc as string, ["http/1.1"]), "http/1.1");
    const https = server.baseUrl.replace(/^http:/, "https:");
    for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
      const c = createTestClients(https, protocol, { ca: certificate.cert });
      try {
        await c.admin.createTopic({ name: `t-${protocol}` });
        assert.equal((await c.health.check({})).status, 1, protocol);
      } finally {
        c.close();
      }
    }
    const res = await fetch(`${server.baseUrl}/healthz`).then(
      () => "answered",
      () => "refused",
    );
    assert.equal(res, "refused", "cleartext HTTP on a TLS port gets no answer");
    // h2 with prior knowledge over cleartext: no answer either.
    const session = http2.connect(server.baseUrl);
    session.on("error", () => {});
    const answered = await new Promise<boolean>((resolve) => {
      const req = session.request({ ":path": "/healthz" });
      req.on("response", () => resolve(true));
      req.on("error", () => resolve(false));
      req.on("close", () => resolve(false));
      req.end();
    });
    session.destroy();
    assert.equal(answered, false);
  });

  it("tls - a client that does not trust the certificate fails its handshake", async (t) => {
    const server = await startTestServer({ config: tlsConfig() });
    t.after(() => server.close());
    const other = createTestCertificate("someone else");
    await assert.rejects(
      negotiate(server.addresses.rpc as string, ["h2"], other.cert),
      /self.signed|unable to verify|certificate/i,
    );
    await assert.rejects(
      negotiate(server.addresses.okq as string, [], other.cert),
      /self.signed|unable to verify|certificate/i,
    );
  });

  it("tls - connections stuck in their handshake do not hold up shutdown", async () => {
    const server = await startTestServer({ config: tlsConfig() });
    const stuck = [server.addresses.rpc, server.addresses.okq].map((a) => net.connect(split(a as string)));
    await Promise.all(stuck.map((s) => new Promise((resolve) => s.once("connect", resolve))));
    for (const s of stuck) s.on("error", () => {});
    const started = Date.now();
    await server.close(); // fails if a connection is still open
    assert.ok(Date.now() - started < 5_000, "closed without waiting for the handshake timeout");
    for (const s of stuck) s.destroy();
  });

  it("tls - reloadTls serves the new certificate to new connections; a bad pair is refused", async (t) => {
    const files = await writeTestCertificate();
    t.after(() => files.remove());
    const server = await startTestServer({ config: { tlsCert: files.certFile, tlsKey: files.keyFile } });
    t.after(() => server.close());
    const peer = async (address: string, ca: string) => {
      const socket = tls.connect({ ...split(address), ca });
      await new Promise((resolve, reject) => {
        socket.once("secureConnect", resolve);
        socket.once("error", reject);
      });
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      return fp;
    };
    assert.equal(await peer(server.addresses.okq as string, files.cert), files.fingerprint256);
    const next = createTestCertificate("next");
    await files.replace(next);
    await server.server.reloadTls();
    assert.equal(await peer(server.addresses.okq as string, next.cert), next.fingerprint256);
    assert.equal(await peer(server.addresses.rpc as string, next.cert), next.fingerprint256);
    await files.replace({ ...next, key: createTestCertificate().key });
    await assert.rejects(server.server.reloadTls(), /are not a usable PEM pair/);
    assert.equal(await peer(server.addresses.rpc as string, next.cert), next.fingerprint256, "the old pair stays");
  });
});
