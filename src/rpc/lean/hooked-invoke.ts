/**
 * The hooked way of a lean unary call (see {@link UnaryHook}): each interceptor's `before`, the
 * implementation, then each `after`, innermost first, in a loop, instead of composing the
 * interceptors around the call. {@link LeanCall.invokeThen} takes this way when every
 * interceptor of the list has a hook.
 *
 * @module
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { HotMethod } from "./hot-methods.js";
import type { LeanCall, LeanOutcome } from "./lean-call.js";
import { LeanHandlerContext } from "./lean-context.js";
import type { UnaryHook } from "./unary-hooks.js";

/**
 * Runs the implementation of `call` with each interceptor's {@link UnaryHook} around it (what the
 * chain of those interceptors does for this call, without building the chain's request and
 * response), and hands the outcome to `outcome`, once.
 */
export function invokeHooked(
  call: LeanCall,
  input: MessageShape<DescMessage>,
  hooks: readonly UnaryHook[],
  outcome: LeanOutcome,
): void {
  invokeFrom(call, input, hooks, new Array(hooks.length), 0, outcome);
}

/**
 * Runs the `before` of hooks `from` on, then the implementation and the `after`s. A `before` that
 * returns a promise suspends the run: it goes on from the next hook once the promise settles.
 */
function invokeFrom(
  call: LeanCall,
  input: MessageShape<DescMessage>,
  hooks: readonly UnaryHook[],
  states: unknown[],
  from: number,
  outcome: LeanOutcome,
): void {
  const n = hooks.length;
  let i = from;
  let pending: unknown;
  try {
    for (; i < n; i++) {
      const state = (hooks[i] as UnaryHook).before(call, input);
      if (state instanceof Promise) {
        const waiting = i;
        state.then(
          (s: unknown) => {
            states[waiting] = s;
            invokeFrom(call, input, hooks, states, waiting + 1, outcome);
          },
          (e: unknown) => afterHooks(call, hooks, states, waiting, true, e, outcome),
        );
        return;
      }
      states[i] = state;
    }
    pending = (call.hot as HotMethod).impl(input, new LeanHandlerContext(call, undefined, true));
  } catch (e) {
    // Only the hooks whose `before` returned see the outcome, as only the interceptors entered would.
    afterHooks(call, hooks, states, i, true, e, outcome);
    return;
  }
  (pending instanceof Promise ? pending : Promise.resolve(pending)).then(
    (output: unknown) => afterHooks(call, hooks, states, n, false, output, outcome),
    (e: unknown) => afterHooks(call, hooks, states, n, true, e, outcome),
  );
}

/**
 * Runs the `after` of the first `entered` hooks, innermost first, and hands on the outcome:
 * `value` is the output, or the error when `failed`. A hook that throws fails the call with
 * what it threw, and the hooks outside it are skipped (as an interceptor that throws would).
 */
function afterHooks(
  call: LeanCall,
  hooks: readonly UnaryHook[],
  states: readonly unknown[],
  entered: number,
  failed: boolean,
  value: unknown,
  outcome: LeanOutcome,
): void {
  let error = failed ? value : undefined;
  try {
    for (let j = entered - 1; j >= 0; j--) error = (hooks[j] as UnaryHook).after(states[j], call, failed, error);
  } catch (e) {
    outcome.fail(e);
    return;
  }
  if (failed) outcome.fail(error);
  else outcome.succeeded(value);
}
