export {
  type Authenticator,
  type AuthenticatorOptions,
  createAuthenticator,
  WWW_AUTHENTICATE,
} from "./authenticator.js";
export { createHashSlots, type HashSlots, PROCESS_HASH_SLOTS, threadPoolSize } from "./hash-slots.js";
export {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  isPasswordHash,
  type PasswordHash,
  parsePasswordHash,
  SCRYPT_BOUNDS,
  type ScryptParams,
  verifyPassword,
} from "./password-hash.js";
export {
  ANONYMOUS,
  coversAllTopics,
  type Principal,
  permits,
  READ_ALL,
  ROLES,
  type Role,
  SERVER_PRINCIPAL,
  topicAllowed,
  userPrincipal,
} from "./principal.js";
export {
  createFailureThrottle,
  DEFAULT_THROTTLE,
  type FailureThrottle,
  type FailureThrottleOptions,
  peerKey,
} from "./throttle.js";
export { MAX_CREDENTIAL_BYTES, parseUsers, type UserConfig, UserSettingError } from "./users.js";
