export { leanProtocolKey } from "./lean-call.js";
export { createLeanRpc, type LeanRpc, type LeanRpcOptions, requestBudgetError } from "./lean-rpc.js";
