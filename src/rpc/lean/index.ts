export { leanProtocolKey } from "./lean-call.js";
export { createLeanRpc, type LeanRpc, type LeanRpcOptions, requestBudgetError } from "./lean-rpc.js";
export { type UnaryHook, type UnaryHookCall, unaryHooksOf, withUnaryHook } from "./unary-hooks.js";
