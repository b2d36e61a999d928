export { createPushAgent, type PushAgent, type PushAgentOptions } from "./agent.js";
export { DEFAULT_PUSH_BACKOFF, pushBackoffMs } from "./backoff.js";
export { buildPushRequest, type PushRequest, SIGNATURE_HEADER } from "./request.js";
export { createFetchSender, type PushResponse, type PushSender, type SendOptions } from "./sender.js";
