/**
 * A one-port listener whose only handler is the lean RPC path: every request the lean path does
 * not take is answered 500 and counted, so a test sees that nothing fell through to connect-node.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LeanRpc } from "../../src/rpc/index.js";
import { formatAddress } from "../../src/server/listen.js";
import { createOnePortListener, type NodeHandler } from "../../src/server/one-port-listener.js";
import { silentLogger } from "../../src/util/index.js";

/** A listening {@link listenLeanOnly} listener. */
export interface LeanOnlyListener {
  /** `http://host:port` of the listener. */
  readonly baseUrl: string;
  /** Requests the lean path did not take. */
  fellThrough(): number;
  /** Closes the listener and every connection. */
  destroy(): Promise<void>;
}

/** Listens on a free loopback port with only `lean` serving. */
export async function listenLeanOnly(lean: LeanRpc): Promise<LeanOnlyListener> {
  let fellThrough = 0;
  const listener = createOnePortListener({
    handler: ((_req: IncomingMessage, res: ServerResponse) => {
      fellThrough++;
      res.writeHead(500).end();
    }) as NodeHandler,
    http2Streams: lean.serve,
    logger: silentLogger,
  });
  const address = await listener.listen({ name: "rpc", host: "127.0.0.1", port: 0, flag: "--port" });
  return {
    baseUrl: `http://${formatAddress(address)}`,
    fellThrough: () => fellThrough,
    destroy: () => listener.destroy(),
  };
}
