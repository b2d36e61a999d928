import * as http from "node:http";
import * as https from "node:https";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";

/** The RPC protocols of the RPC port, each with the HTTP version its client uses. */
export type RpcProtocol = "connect" | "grpc" | "grpc-web" | "connect-h2" | "connect-json-h2";

/**
 * Every protocol: Connect over HTTP/1.1, gRPC over h2c, gRPC-web over HTTP/1.1, and Connect over
 * h2c in binary and in JSON. gRPC and Connect on h2c take the lean path for the hot methods
 * (README "Architecture"); the others go through connect-node.
 */
export const PROTOCOLS: readonly RpcProtocol[] = ["connect", "grpc", "grpc-web", "connect-h2", "connect-json-h2"];

/** A transport for one protocol plus a `close()` that drops its connections. */
export interface TestTransport {
  transport: Transport;
  /** Closes the transport's HTTP/2 session or HTTP/1.1 sockets. */
  close(): void;
}

/** Options of {@link createTestTransport}. */
export interface TestTransportOptions {
  /** The CA certificate (PEM) that signed the server's, for an `https://` base URL. */
  ca?: string;
  /** An `Authorization` header sent with every call (`Basic …`, `Bearer …`). */
  authorization?: string;
  /** The local address the client's connections come from (e.g. `127.0.0.2`, to be another peer). */
  localAddress?: string;
}

/**
 * Creates a transport for `protocol` against `baseUrl` (`http://host:port`, or `https://` with
 * `options.ca`) with its own connection pool, so a test can close exactly what it opened.
 */
export function createTestTransport(
  baseUrl: string,
  protocol: RpcProtocol,
  options: TestTransportOptions = {},
): TestTransport {
  const { authorization, ca, localAddress } = options;
  const from = localAddress === undefined ? {} : { localAddress };
  const withAuth: Interceptor = (next) => (req) => {
    if (authorization !== undefined) req.header.set("authorization", authorization);
    return next(req);
  };
  const interceptors = [withAuth];
  if (protocol === "grpc" || protocol === "connect-h2" || protocol === "connect-json-h2") {
    const sessionManager = new Http2SessionManager(baseUrl, undefined, {
      ...(ca === undefined ? {} : { ca }),
      ...from,
    });
    const h2 = { baseUrl, sessionManager, interceptors, httpVersion: "2" as const };
    return {
      transport:
        protocol === "grpc"
          ? createGrpcTransport(h2)
          : createConnectTransport({ ...h2, useBinaryFormat: protocol === "connect-h2" }),
      close: () => sessionManager.abort(),
    };
  }
  const agent =
    ca === undefined ? new http.Agent({ keepAlive: true, ...from }) : new https.Agent({ keepAlive: true, ca, ...from });
  const transportOptions = { baseUrl, httpVersion: "1.1" as const, nodeOptions: { agent }, interceptors };
  return {
    transport:
      protocol === "connect" ? createConnectTransport(transportOptions) : createGrpcWebTransport(transportOptions),
    close: () => agent.destroy(),
  };
}

/** Generated clients of every service on one transport. */
export interface TestClients {
  publisher: Client<typeof PublisherService>;
  subscriber: Client<typeof SubscriberService>;
  replay: Client<typeof ReplayService>;
  admin: Client<typeof AdminService>;
  health: Client<typeof Health>;
  /** Closes the underlying connections. */
  close(): void;
}

/** Creates {@link TestClients} for `protocol` against `baseUrl`. */
export function createTestClients(
  baseUrl: string,
  protocol: RpcProtocol,
  options: TestTransportOptions = {},
): TestClients {
  const { transport, close } = createTestTransport(baseUrl, protocol, options);
  return {
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    replay: createClient(ReplayService, transport),
    admin: createClient(AdminService, transport),
    health: createClient(Health, transport),
    close,
  };
}
