export { leanProtocolKey } from "./lean-context.js";
export { createLeanRpc, type LeanRpc, type LeanRpcOptions, requestBudgetError } from "./lean-rpc.js";
