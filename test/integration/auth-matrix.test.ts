/**
 * The permission matrix on every door that exists (Connect, gRPC, gRPC-web, RESP, ohpq text), in plain text
 * and over TLS (a certificate made at test time): the same users and rules, the same allow and
 * deny everywhere. Real server, real LMDB, real sockets and clients.
 */
import { after, before, describe, it } from "node:test";
import {
  type Door,
  MATRIX_QUEUES,
  MATRIX_USERS,
  ohpqDoor,
  respDoor,
  rpcDoor,
  runMatrix,
} from "../helpers/auth-matrix.js";
import { createTestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { type TestCertificateFiles, writeTestCertificate } from "../helpers/test-certificate.js";

let certificate: TestCertificateFiles;

before(async () => {
  certificate = await writeTestCertificate();
});
after(async () => {
  await certificate.remove();
});

/** A server with the matrix's users and queues (one per door: each has its own failure throttle). */
async function matrixServer(tls: boolean): Promise<TestServer> {
  const server = await startTestServer({
    config: {
      users: MATRIX_USERS,
      ...(tls ? { tlsCert: certificate.certFile, tlsKey: certificate.keyFile } : {}),
    },
  });
  const baseUrl = tls ? server.baseUrl.replace(/^http:/, "https:") : server.baseUrl;
  const admin = createTestClients(baseUrl, "connect", {
    authorization: "Bearer tok-admin",
    ...(tls ? { ca: certificate.cert } : {}),
  });
  try {
    for (const name of MATRIX_QUEUES) await admin.admin.createTopic({ name, queue: true });
  } finally {
    admin.close();
  }
  return server;
}

const doors = (ca?: string): Door[] => [
  rpcDoor("connect", ca),
  rpcDoor("grpc", ca),
  rpcDoor("grpc-web", ca),
  respDoor(ca),
  ohpqDoor(ca),
];

describe("auth matrix", () => {
  for (const door of doors()) {
    it(`auth matrix - ${door.name}: the same allow and deny as every other door`, async (t) => {
      const server = await matrixServer(false);
      t.after(() => server.close());
      await runMatrix(server, door);
    });
  }
  for (const tls of [true]) {
    it(`auth matrix - every door over TLS (certificate made at test time)`, async (t) => {
      const server = await matrixServer(tls);
      t.after(() => server.close());
      for (const door of doors(certificate.cert)) await runMatrix(server, door);
    });
  }
});
