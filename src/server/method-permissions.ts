import type { DescMethod } from "@bufbuild/protobuf";
import type { Role } from "../auth/index.js";

/**
 * Which permission each RPC needs (README "Auth and TLS"). Read from
 * the request message, so it is the same for every door: a bridge's in-process call and a remote
 * client's call get the same answer.
 */
export type MethodRule =
  /** No credentials needed (health checks, reflection). */
  | { readonly kind: "open" }
  /** The admin role. */
  | { readonly kind: "admin" }
  /** `role` on the topic the request names. */
  | { readonly kind: "topic"; readonly role: Role; readonly topic: (message: Fields) => string }
  /** `subscriber` on the topic of the subscription the request names. */
  | { readonly kind: "subscription"; readonly subscription: (message: Fields) => string }
  /** GetStats: admin, or for the topics it names, a publisher or subscriber of each of them. */
  | { readonly kind: "stats" };

/** A request message seen as plain fields. */
export type Fields = Readonly<Record<string, unknown>>;

const str = (field: string) => (m: Fields) => (typeof m[field] === "string" ? (m[field] as string) : "");
const bySubscription: MethodRule = { kind: "subscription", subscription: str("subscription") };
const OPEN: MethodRule = { kind: "open" };
const ADMIN: MethodRule = { kind: "admin" };

/** Rules by `package.Service/Method` (proto names). */
const RULES: ReadonlyMap<string, MethodRule> = new Map<string, MethodRule>([
  ["switchyard.v1.PublisherService/Publish", { kind: "topic", role: "publisher", topic: str("topic") }],
  ["switchyard.v1.SubscriberService/Pull", bySubscription],
  ["switchyard.v1.SubscriberService/Subscribe", bySubscription],
  ["switchyard.v1.SubscriberService/Ack", bySubscription],
  ["switchyard.v1.SubscriberService/Nack", bySubscription],
  ["switchyard.v1.SubscriberService/ModifyAckDeadline", bySubscription],
  ["switchyard.v1.SubscriberService/Peek", bySubscription],
  ["switchyard.v1.ReplayService/Seek", bySubscription],
  ["switchyard.v1.ReplayService/Read", { kind: "topic", role: "subscriber", topic: str("topic") }],
  ["switchyard.v1.AdminService/GetStats", { kind: "stats" }],
]);

/** Services anyone may call: health checks and reflection carry no data. */
const OPEN_SERVICES = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/**
 * The rule of one RPC. Everything not listed needs `admin`: the AdminService, snapshots, and any
 * RPC added later until someone decides otherwise (deny by default).
 */
export function methodRule(service: string, method: string): MethodRule {
  if (OPEN_SERVICES.has(service)) return OPEN;
  return RULES.get(`${service}/${method}`) ?? ADMIN;
}

/** The listed rules by request path (`/package.Service/Method`): one lookup for the RPCs that have one. */
const RULES_BY_PATH: ReadonlyMap<string, MethodRule> = new Map([...RULES].map(([name, rule]) => [`/${name}`, rule]));

/**
 * The rule of the RPC at an HTTP request path (`/package.Service/Method`), as {@link methodRule}
 * gives it for the path's service and method.
 */
export function pathRule(path: string): MethodRule {
  const listed = RULES_BY_PATH.get(path);
  if (listed !== undefined) return listed;
  const slash = path.lastIndexOf("/");
  return methodRule(path.slice(1, Math.max(slash, 1)), path.slice(slash + 1));
}

/** Rules of the methods asked for so far (a method's rule never changes). */
const byMethod = new WeakMap<DescMethod, MethodRule>();

/** The rule of `method` ({@link methodRule} of its service and name), looked up once per method. */
export function ruleOf(method: DescMethod): MethodRule {
  let rule = byMethod.get(method);
  if (rule === undefined) {
    rule = methodRule(method.parent.typeName, method.name);
    byMethod.set(method, rule);
  }
  return rule;
}
