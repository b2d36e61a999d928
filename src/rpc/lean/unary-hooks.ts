import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ContextValues, Interceptor } from "@connectrpc/connect";

/** What a {@link UnaryHook} sees of a unary call on the lean path. */
export interface UnaryHookCall {
  readonly service: DescService;
  readonly method: DescMethod;
  /** The wire protocol of the call. */
  readonly protocolName: "grpc" | "connect";
  /** The call's context values (made when first read). */
  readonly values: ContextValues;
  /**
   * A request header as `requestHeader.get(name)` would give it (null when absent), without
   * making the request's `Headers`.
   */
  requestHeaderValue(name: string): string | null;
}

/**
 * The unary behaviour of a server interceptor, for calls that need nothing else of it: code that
 * runs before the implementation, and code that runs after it with the outcome. An interceptor
 * that has one promises that, for a unary call, it does exactly this and nothing more: it neither
 * replaces the request nor the response, and reads nothing of the request but what
 * {@link UnaryHookCall} offers and the request message (read only). The lean path then runs the
 * hooks in a loop instead of composing the interceptors around the call (no request and response
 * objects, no async step per interceptor); with any interceptor lacking a hook, it runs the
 * interceptors themselves.
 */
export interface UnaryHook<State = unknown> {
  /**
   * Runs before the implementation (outermost interceptor first), with the request message. A
   * hook that must wait for something (a lookup, a password check) returns a promise of its
   * state: the hooks inside it and the implementation run once it settles (and not at all when
   * it rejects, as when `before` throws). Only then: a state is never a promise itself.
   */
  before(call: UnaryHookCall, message: unknown): State | Promise<State>;
  /**
   * Runs after the implementation (innermost first) with what `before` returned, and the error
   * the call failed with (`failed` true) or undefined. Returns the error the call fails with from
   * here out (the same one, or a replacement), ignored on success.
   */
  after(state: State, call: UnaryHookCall, failed: boolean, error: unknown): unknown;
}

const kUnaryHook = Symbol("switchyard.unaryHook");
type Hooked = Interceptor & { [kUnaryHook]?: UnaryHook | null };

/**
 * Gives an interceptor its {@link UnaryHook}; `null` says the interceptor does nothing at all to
 * a unary call (it is left out of the loop).
 */
export function withUnaryHook<S>(interceptor: Interceptor, hook: UnaryHook<S> | null): Interceptor {
  (interceptor as Hooked)[kUnaryHook] = hook as UnaryHook | null;
  return interceptor;
}

const hookLists = new WeakMap<readonly Interceptor[], readonly UnaryHook[] | undefined>();

/** The hooks of every interceptor of the list, in order, or undefined if one has none. */
export function unaryHooksOf(interceptors: readonly Interceptor[]): readonly UnaryHook[] | undefined {
  if (hookLists.has(interceptors)) return hookLists.get(interceptors);
  let hooks: UnaryHook[] | undefined = [];
  for (const interceptor of interceptors) {
    const hook = (interceptor as Hooked)[kUnaryHook];
    if (hook === undefined) {
      hooks = undefined;
      break;
    }
    if (hook !== null) hooks.push(hook);
  }
  hookLists.set(interceptors, hooks);
  return hooks;
}
