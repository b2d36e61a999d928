import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, validateConfig } from "../../src/config/index.js";
import type { ListenerAddresses } from "../../src/server/index.js";
import { type BrokerServer, type BrokerServerOptions, createBrokerServer } from "../../src/server/index.js";

/** Options of {@link startTestServer}. */
export interface TestServerOptions extends BrokerServerOptions {
  /** Settings over the test defaults (every port 0, a fresh data directory, silent logs). */
  config?: Partial<Config>;
}

/** A running in-process server. */
export interface TestServer {
  server: BrokerServer;
  addresses: ListenerAddresses;
  /** `http://host:port` of the RPC listener. */
  baseUrl: string;
  /** Host and port of the okQ (RESP) listener, when it is on (`config.okqPort` not `off`). */
  okq?: { host: string; port: number };
  /** The temporary data directory (removed by close). */
  dataDir: string;
  /**
   * Closes the server, fails if a connection is still open afterwards, and removes the data
   * directory. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Starts `createBrokerServer` in-process with every listener on port 0 and a fresh `mkdtemp`
 * data directory. Register `t.after(() => s.close())` right away.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  // No dots in the name: an LMDB path with an extension is taken for a file.
  const dataDir = await mkdtemp(join(tmpdir(), "switchyard-test-"));
  const config = validateConfig({
    dataDir,
    port: 0,
    okqPort: 0,
    opqPort: 0,
    restmqPort: 0,
    ohpqPort: 0,
    ohpqHttpPort: 0,
    gophermqPort: 0,
    gophermqMetricsPort: 0,
    durability: "commit",
    shutdownGraceMs: 2_000,
    logLevel: "silent",
    ...options.config,
  });
  const server = createBrokerServer(config, options);
  let addresses: ListenerAddresses;
  try {
    addresses = await server.start();
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    server,
    addresses,
    baseUrl: `http://${addresses.rpc}`,
    ...(addresses.okq ? { okq: hostPort(addresses.okq) } : {}),
    dataDir,
    close() {
      closed ??= (async () => {
        try {
          await server.close();
          const open = server.connections();
          if (open > 0) throw new Error(`${open} connection(s) still open after close`);
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      })();
      return closed;
    },
  };
}

/** Splits `host:port` (or `[v6]:port`) into its parts. */
function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(address.slice(i + 1)) };
}

/** `config` that turns every bridge listener off (the RPC port alone). */
export const ALL_BRIDGES_OFF = {
  okqPort: "off",
  opqPort: "off",
  restmqPort: "off",
  ohpqPort: "off",
  ohpqHttpPort: "off",
  gophermqPort: "off",
  gophermqMetricsPort: "off",
} as const satisfies Partial<Config>;
