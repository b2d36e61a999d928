/**
 * The start-up line that says whether auth is on (README "Auth and TLS"), and the warning when it
 * is off on an address other machines can reach.
 *
 * @module
 */
import type { Config } from "../config/index.js";
import type { Logger } from "../util/index.js";

/** True for addresses only this machine can reach. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Logs whether auth is on: info when it is, or when it is off on a loopback `--host`; a warning
 * when it is off and anyone who reaches the ports can do everything.
 */
export function logAuthMode(logger: Logger, config: Config, authEnabled: boolean): void {
  if (authEnabled) {
    logger.info("auth on: every door asks for credentials", { users: config.users?.length ?? 0 });
  } else if (isLoopback(config.host)) {
    logger.info("auth off: no users are configured (define users in the config file to turn it on)");
  } else {
    logger.warn(
      `auth off, and --host ${config.host} is not a loopback address: anyone who reaches these ports can publish, read and delete. Define users in the config file.`,
    );
  }
}
