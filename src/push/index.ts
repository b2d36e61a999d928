export { createPushAgent, type PushAgent, type PushAgentOptions } from "./agent.js";
export { DEFAULT_PUSH_BACKOFF, pushBackoffMs } from "./backoff.js";
export {
  FORM_CONTENT_TYPE,
  FORM_FIELD_PREFIX,
  FORM_HEADER_PREFIX,
  FORM_TARGET_ATTRIBUTE,
  FORM_URL_ATTRIBUTE,
} from "./form-request.js";
export { buildPushRequest, type PushRequest, SIGNATURE_HEADER } from "./request.js";
export { createHttpSender, type PushResponse, type PushSender, type SendOptions } from "./sender.js";
