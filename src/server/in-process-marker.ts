import { createContextKey } from "@connectrpc/connect";

/**
 * True on the handler side of a call made by the bridges' in-process clients
 * (in-process-clients.ts): their own router sets it, as a context value no request carries, so a
 * remote client cannot forge it the way it could send a header. The RPC metrics read it to label
 * those calls `in-process`.
 */
export const inProcessKey = createContextKey<boolean>(false, { description: "switchyard in-process call" });
