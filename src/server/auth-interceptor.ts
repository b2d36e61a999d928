import { type Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import {
  type Authenticator,
  coversAllTopics,
  type Principal,
  permits,
  type Role,
  topicAllowed,
} from "../auth/index.js";
import { BrokerError } from "../errors/index.js";
import { toConnectError } from "../rpc/index.js";
import { withUnaryHook } from "../rpc/lean/unary-hooks.js";
import type { Logger } from "../util/index.js";
import { type Fields, type MethodRule, methodRule } from "./method-permissions.js";

/**
 * The principal of an in-process call (a bridge's `clientsAs(principal)`). Context values live
 * only in memory: no remote client can set one.
 */
export const IN_PROCESS_PRINCIPAL = createContextKey<Principal | undefined>(undefined, {
  description: "switchyard in-process principal",
});

/** The remote address of a call on the RPC port (for the failed-login throttle). */
export const PEER_ADDRESS = createContextKey<string>("", { description: "switchyard peer address" });

/** Options of {@link createAuthInterceptor}. */
export interface AuthInterceptorOptions {
  auth: Authenticator;
  /** The topic of a subscription; undefined when there is no such subscription. */
  subscriptionTopic(name: string): Promise<string | undefined>;
  logger: Logger;
}

/**
 * Authentication and authorization, once for every door: the caller is the in-process principal
 * of a bridge's call, or the `Authorization` header (HTTP Basic or `Bearer`) of a remote one.
 * Each RPC then needs the permission {@link methodRule} names. Failures are ConnectErrors
 * UNAUTHENTICATED (with a `WWW-Authenticate` header) or PERMISSION_DENIED, with an ErrorDetail.
 * With auth off every call passes.
 */
export function createAuthInterceptor(options: AuthInterceptorOptions): Interceptor {
  const { auth, logger } = options;
  const reject = (e: unknown): ConnectError => authRefusal(e, auth, logger);

  async function authorize(p: Principal, rule: MethodRule, m: Fields): Promise<void> {
    switch (rule.kind) {
      case "open":
        return;
      case "admin":
        if (!permits(p, "admin")) throw denied(p, "admin");
        return;
      case "topic": {
        const topic = rule.topic(m);
        if (!permits(p, rule.role, topic)) throw denied(p, rule.role, topic);
        return;
      }
      case "subscription": {
        if (coversAllTopics(p, "subscriber")) return;
        if (!p.roles.includes("subscriber")) throw denied(p, "subscriber");
        const name = rule.subscription(m);
        // A subscription that does not exist is judged by its name as a topic (the queue
        // convention): an allowed user then learns NOT_FOUND, anyone else PERMISSION_DENIED.
        const topic = (await options.subscriptionTopic(name)) ?? name;
        if (!topicAllowed(p, "subscriber", topic)) throw denied(p, "subscriber", topic, name);
        return;
      }
      case "stats": {
        if (permits(p, "admin")) return;
        const topics = Array.isArray(m.topics) ? (m.topics as string[]) : [];
        if (topics.length === 0 || !(p.roles.includes("publisher") || p.roles.includes("subscriber"))) {
          throw denied(p, "admin");
        }
        const other = topics.find((t) => !permits(p, "publisher", t) && !permits(p, "subscriber", t));
        if (other !== undefined) throw denied(p, "subscriber", other);
        return;
      }
    }
  }

  /** The caller of a call: its in-process principal, else from its Authorization header. */
  async function caller(req: Parameters<Parameters<Interceptor>[0]>[0]): Promise<Principal> {
    const inProcess = req.contextValues.get(IN_PROCESS_PRINCIPAL);
    if (inProcess !== undefined) {
      if (inProcess.kind === "anonymous") throw new BrokerError("UNAUTHENTICATED", "credentials required");
      return inProcess;
    }
    const peer = req.contextValues.get(PEER_ADDRESS);
    return auth.fromHttpBasic(req.header.get("authorization") ?? undefined, peer);
  }

  // With auth off (fixed when the server starts) the interceptor adds no step to any call.
  if (!auth.enabled) return withUnaryHook((next) => next, null);
  return (next) => async (req) => {
    const rule = methodRule(req.service.typeName, req.method.name);
    if (rule.kind === "open") return next(req);
    let forward = req;
    try {
      const principal = await caller(req);
      if (principal.kind === "server") return next(req);
      if (!req.stream) {
        await authorize(principal, rule, req.message as unknown as Fields);
      } else {
        // Server streaming: the one request message is read here, checked, and handed on.
        const messages: unknown[] = [];
        for await (const m of req.message) {
          messages.push(m);
          if (messages.length > 1) throw new BrokerError("INVALID_ARGUMENT", "one request message expected");
        }
        await authorize(principal, rule, (messages[0] ?? {}) as Fields);
        forward = { ...req, message: replay(messages) } as typeof req;
      }
    } catch (e) {
      throw e instanceof ConnectError ? e : reject(e);
    }
    return next(forward);
  };
}

/** An auth failure as the ConnectError a remote client gets (ErrorDetail; a challenge with a 401). */
function authRefusal(e: unknown, auth: Authenticator, logger: Logger): ConnectError {
  if (e instanceof ConnectError) return e;
  if (!(e instanceof BrokerError) || (e.reason !== "UNAUTHENTICATED" && e.reason !== "PERMISSION_DENIED")) {
    return toConnectError(e, logger);
  }
  const detail = { desc: ErrorDetailSchema, value: { reason: e.reason, metadata: e.metadata } };
  const headers = e.reason === "UNAUTHENTICATED" ? { "www-authenticate": auth.wwwAuthenticate } : undefined;
  return new ConnectError(e.message, e.code as number as Code, headers, [detail]);
}

/**
 * The credentials check of a call from its headers alone, run before its body is read (README
 * "Limits and failure behaviour"): undefined when auth is off or the RPC at `path` needs no
 * credentials, else a promise that rejects with the same UNAUTHENTICATED ConnectError the
 * interceptor would answer. Permissions still need the request message: the interceptor checks
 * them (and the credentials again, from the authenticator's cache) once the body is read.
 */
export function createHeaderAuthCheck(
  auth: Authenticator,
  logger: Logger,
): (path: string, authorization: string | undefined, peerAddress: string) => Promise<void> | undefined {
  return (path, authorization, peerAddress) => {
    if (!auth.enabled) return undefined;
    const slash = path.lastIndexOf("/");
    if (methodRule(path.slice(1, Math.max(slash, 1)), path.slice(slash + 1)).kind === "open") return undefined;
    return auth.fromHttpBasic(authorization, peerAddress).then(
      () => undefined,
      (e: unknown) => {
        throw authRefusal(e, auth, logger);
      },
    );
  };
}

async function* replay<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

const VERB: Record<Role, string> = { publisher: "publish to", subscriber: "consume from", admin: "administer" };

function denied(p: Principal, role: Role, topic?: string, subscription?: string): BrokerError {
  const metadata: Record<string, string> = { required_role: role, scope: topic === undefined ? "role" : "topic" };
  if (!p.roles.includes(role)) metadata.scope = "role";
  if (topic !== undefined) metadata.topic = topic;
  if (subscription !== undefined) metadata.subscription = subscription;
  const what =
    metadata.scope === "role"
      ? `user "${p.name}" does not have the ${role} role`
      : `user "${p.name}" may not ${VERB[role]} topic "${topic}"`;
  return new BrokerError("PERMISSION_DENIED", what, { metadata });
}
