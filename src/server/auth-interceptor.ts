import { type Code, ConnectError, type ContextValues, createContextKey, type Interceptor } from "@connectrpc/connect";
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
import { type UnaryHook, type UnaryHookCall, withUnaryHook } from "../rpc/lean/unary-hooks.js";
import type { Logger } from "../util/index.js";
import { type Fields, type MethodRule, methodRule, pathRule, ruleOf } from "./method-permissions.js";

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
  subscriptionTopic(name: string): string | undefined | Promise<string | undefined>;
  logger: Logger;
}

/** Where the caller's credentials come from: a lean call's hook view, or an interceptor's request. */
type CallerSource = UnaryHookCall | { readonly header: Headers };

/**
 * Authentication and authorization, once for every door: the caller is the in-process principal
 * of a bridge's call, or the `Authorization` header (HTTP Basic or `Bearer`) of a remote one.
 * Each RPC then needs the permission {@link methodRule} names. Failures are ConnectErrors
 * UNAUTHENTICATED (with a `WWW-Authenticate` header) or PERMISSION_DENIED, with an ErrorDetail.
 * With auth off every call passes.
 *
 * Lean unary calls take its {@link UnaryHook}, which does the same check without the request
 * object: settled at once when the credentials were accepted before and the rule needs no
 * lookup, a promise only for a password hash check or a subscription's topic.
 */
export function createAuthInterceptor(options: AuthInterceptorOptions): Interceptor {
  const { auth, logger } = options;
  const refusal = (e: unknown): ConnectError => authRefusal(e, auth, logger);
  const rethrowRefusal = (e: unknown): never => {
    throw refusal(e);
  };

  /** Whether `p` may make a call of `rule` with message `m`: settled now (returns or throws) or a promise. */
  function authorize(p: Principal, rule: MethodRule, m: Fields): undefined | Promise<void> {
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
        const judge = (found: string | undefined): undefined => {
          const topic = found ?? name;
          if (!topicAllowed(p, "subscriber", topic)) throw denied(p, "subscriber", topic, name);
          return undefined;
        };
        const found = options.subscriptionTopic(name);
        return found instanceof Promise ? found.then(judge) : judge(found);
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
  function caller(values: ContextValues, from: CallerSource): Principal | Promise<Principal> {
    const inProcess = values.get(IN_PROCESS_PRINCIPAL);
    if (inProcess !== undefined) {
      if (inProcess.kind === "anonymous") throw new BrokerError("UNAUTHENTICATED", "credentials required");
      return inProcess;
    }
    const peer = values.get(PEER_ADDRESS);
    const header = "header" in from ? from.header.get("authorization") : from.requestHeaderValue("authorization");
    return auth.fromAuthorization(header ?? undefined, peer);
  }

  /** {@link authorize} for the caller (the server's own calls may do anything). */
  const authorizeCaller = (p: Principal, rule: MethodRule, m: Fields) =>
    p.kind === "server" ? undefined : authorize(p, rule, m);

  /**
   * The check of a call that needs credentials (`rule` is not open): returns when it may go on,
   * throws the refusal (a ConnectError) when not, or, when the answer needs a lookup or a
   * password check, returns a promise of the same.
   */
  function admit(rule: MethodRule, values: ContextValues, from: CallerSource, m: Fields): undefined | Promise<void> {
    try {
      const who = caller(values, from);
      const verdict =
        who instanceof Promise ? who.then((p) => authorizeCaller(p, rule, m)) : authorizeCaller(who, rule, m);
      return verdict === undefined ? undefined : verdict.catch(rethrowRefusal);
    } catch (e) {
      throw refusal(e);
    }
  }

  // With auth off (fixed when the server starts) the interceptor adds no step to any call.
  if (!auth.enabled) return withUnaryHook((next) => next, null);
  const interceptor: Interceptor = (next) => async (req) => {
    const rule = ruleOf(req.method);
    if (rule.kind === "open") return next(req);
    if (!req.stream) {
      await admit(rule, req.contextValues, req, req.message as unknown as Fields);
      return next(req);
    }
    // Server streaming: the caller first, then the one request message is read, checked, and handed on.
    const messages: unknown[] = [];
    try {
      const principal = await caller(req.contextValues, req);
      if (principal.kind === "server") return next(req);
      for await (const m of req.message) {
        messages.push(m);
        if (messages.length > 1) throw new BrokerError("INVALID_ARGUMENT", "one request message expected");
      }
      await authorize(principal, rule, (messages[0] ?? {}) as Fields);
    } catch (e) {
      throw refusal(e);
    }
    return next({ ...req, message: replay(messages) } as typeof req);
  };
  return withUnaryHook<void>(interceptor, {
    before(call, message) {
      const rule = ruleOf(call.method);
      return rule.kind === "open" ? undefined : admit(rule, call.values, call, message as Fields);
    },
    after: (_state, _call, _failed, error) => error,
  });
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
 * "Limits and failure behaviour"): undefined when auth is off, the RPC at `path` needs no
 * credentials, or they were accepted at once (accepted before); else a promise that rejects with
 * the same UNAUTHENTICATED ConnectError the interceptor would answer (a refusal known at once
 * too: the caller answers it where it answers a check that failed later). Permissions still need
 * the request message: the interceptor checks them (and the credentials again, from the
 * authenticator's cache) once the body is read.
 */
export function createHeaderAuthCheck(
  auth: Authenticator,
  logger: Logger,
): (path: string, authorization: string | undefined, peerAddress: string) => Promise<void> | undefined {
  return (path, authorization, peerAddress) => {
    if (!auth.enabled || pathRule(path).kind === "open") return undefined;
    try {
      const principal = auth.fromAuthorization(authorization, peerAddress);
      // Accepted at once (credentials accepted before): nothing to wait for.
      if (!(principal instanceof Promise)) return undefined;
      return principal.then(
        () => undefined,
        (e: unknown) => {
          throw authRefusal(e, auth, logger);
        },
      );
    } catch (e) {
      return Promise.reject(authRefusal(e, auth, logger));
    }
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
