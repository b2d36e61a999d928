import type { BrokerClients } from "../../bridge.js";
import type { OhpqContext } from "../context.js";
import type { PendingSlots } from "../pending.js";

/** The per-connection state a command sees and may change. */
export interface CommandSession {
  readonly ctx: OhpqContext;
  /** The client's address (for AUTH throttling and logs). */
  readonly peer: string;
  /** The clients acting as the connection's user; undefined until AUTH (when auth is on). */
  clients: BrokerClients | undefined;
  readonly pending: PendingSlots;
  /** True when the connection has a SUB on `queue`. */
  isSubscribed(queue: string): boolean;
  /** True while the connection may add a SUB (below `maxSubscriptions`). */
  canSubscribe(): boolean;
  /**
   * Adds a SUB on `queue` whose stream starts once the reply is written (so `OK subscribed`
   * comes before its first push).
   */
  subscribe(queue: string): void;
  /**
   * Makes `clients` the connection's (a successful AUTH). When they act as another user than
   * before, nothing of the old login outlives it: its pending messages go back to their queues at
   * once (as on a disconnect: available again, delivery count raised) and its SUBs reopen as the
   * new user once the reply is written (a SUB the new user may not read then ends). Resolves once
   * the old pending messages are back.
   */
  switchUser(clients: BrokerClients): Promise<void>;
  /** QUIT sets it: the connection closes once this reply is written. */
  closeAfterReply: boolean;
}

/** A command line after its keyword. */
export interface CommandArgs {
  /** The space-separated tokens after the keyword. */
  readonly tokens: readonly Buffer[];
  /** The bytes after the keyword and the spaces that follow it (PUB's queue and message). */
  readonly rest: Buffer;
}

/** One command of the dialect. */
export interface CommandSpec {
  /** May run before AUTH (AUTH itself, QUIT). */
  readonly beforeAuth?: boolean;
  /** Runs the command; resolves with its reply line(s). Never rejects. */
  run(session: CommandSession, args: CommandArgs): string | Buffer | Promise<string | Buffer>;
}
