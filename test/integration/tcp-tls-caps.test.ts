/**
 * With TLS, a TCP bridge's connection cap counts connections still in their handshake: silent
 * clients that never finish a handshake cannot pile up past --ohpq-max-connections (README
 * "Limits and failure behaviour"). Real server, certificate made at test time, raw sockets.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { it } from "node:test";
import { startTestServer } from "../helpers/start-test-server.js";
import { writeTestCertificate } from "../helpers/test-certificate.js";

/** A TCP connection that sends nothing; resolves with whether the server closed it within `ms`. */
async function silent(port: number, ms: number, sockets: net.Socket[]): Promise<() => Promise<boolean>> {
  const socket = net.connect(port, "127.0.0.1");
  sockets.push(socket);
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  return () => closed;
}

it("tcp tls caps - ohpq: connections in their TLS handshake count against --ohpq-max-connections", async (t) => {
  const certificate = await writeTestCertificate();
  t.after(() => certificate.remove());
  const server = await startTestServer({
    config: { tlsCert: certificate.certFile, tlsKey: certificate.keyFile, ohpqMaxConnections: 2 },
  });
  t.after(() => server.close());
  const port = Number((server.addresses.ohpq as string).split(":").pop());
  const sockets: net.Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  const first = await silent(port, 1_000, sockets);
  const second = await silent(port, 1_000, sockets);
  const third = await silent(port, 1_000, sockets);
  assert.equal(await third(), true, "the third silent connection is closed at once");
  assert.equal(await first(), false, "the first two wait for their handshake");
  assert.equal(await second(), false);
});
