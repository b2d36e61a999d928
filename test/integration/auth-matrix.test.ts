/**
 * The permission matrix on every door that exists (Connect, gRPC, gRPC-web, RESP, ohpq text, OPQ,
 * RestMQ REST, comet and websocket, GopherMQ), in plain text and over TLS where the door has it (a
 * certificate made at test time; the HTTP bridges have no TLS): the same users and rules, the
 * same allow and deny everywhere, and a refused case changes nothing in the broker. Real server,
 * real LMDB, real sockets and clients.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import { type Door, MATRIX_QUEUES, MATRIX_USERS, rpcDoor, runMatrix } from "../helpers/auth-matrix.js";
import { gophermqDoor, opqDoor, restmqCometDoor, restmqRestDoor, restmqWsDoor } from "../helpers/auth-matrix-http.js";
import { ohpqDoor, respDoor } from "../helpers/auth-matrix-tcp.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { type TestCertificateFiles, writeTestCertificate } from "../helpers/test-certificate.js";

let certificate: TestCertificateFiles;

before(async () => {
  certificate = await writeTestCertificate();
});
after(async () => {
  await certificate.remove();
});

/**
 * A server with the matrix's users (one per door: each has its own failure throttle), an admin's
 * clients, and the matrix's queues as `doors` need them (the first door that prepares its own, or
 * plain queues).
 */
async function matrixServer(
  t: TestContext,
  tls: boolean,
  doors: Door[],
): Promise<{ server: TestServer; admin: TestClients }> {
  const server = await startTestServer({
    config: {
      users: MATRIX_USERS,
      ...(tls ? { tlsCert: certificate.certFile, tlsKey: certificate.keyFile } : {}),
    },
  });
  const baseUrl = tls ? server.baseUrl.replace(/^http:/, "https:") : server.baseUrl;
  // gRPC: one HTTP/2 session for the many state checks (Connect on HTTP/1.1 over TLS is slower per call).
  const admin = createTestClients(baseUrl, "grpc", {
    authorization: "Bearer tok-admin",
    ...(tls ? { ca: certificate.cert } : {}),
  });
  t.after(async () => {
    for (const door of doors) await door.close?.();
    admin.close();
    await server.close();
  });
  const own = doors.find((d) => d.prepare);
  if (own?.prepare) await own.prepare(server, admin);
  else for (const name of MATRIX_QUEUES) await admin.admin.createTopic({ name, queue: true });
  return { server, admin };
}

const tlsDoors = (ca?: string): Door[] => [
  rpcDoor("connect", ca),
  rpcDoor("grpc", ca),
  rpcDoor("grpc-web", ca),
  respDoor(ca),
  ohpqDoor(ca),
];

const plainDoors = (): Door[] => [
  ...tlsDoors(),
  opqDoor(),
  restmqRestDoor(),
  restmqCometDoor(),
  restmqWsDoor(),
  gophermqDoor(),
];

describe("auth matrix", () => {
  for (const door of plainDoors()) {
    it(`auth matrix - ${door.name}: the same allow and deny as every other door, and refusals change nothing`, async (t) => {
      const { server, admin } = await matrixServer(t, false, [door]);
      await runMatrix(server, door, admin);
    });
  }
  // One server per door here too: a success clears only that user's failures, so the wrong
  // guesses of five doors from one address would add up to a slow-down on a shared server.
  it(`auth matrix - every door with TLS, over TLS (certificate made at test time)`, async (t) => {
    for (const door of tlsDoors(certificate.cert)) {
      const { server, admin } = await matrixServer(t, true, [door]);
      await runMatrix(server, door, admin);
    }
  });
});
