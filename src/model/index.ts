/**
 * Domain types shared by the core and the store: the bottom layer, importing nothing. Not the
 * generated proto types: only src/rpc maps between the two (convert.ts; pull-response.ts for a direct in-process Pull).
 */
export type * from "./types.js";
