/**
 * Domain types shared by the core and the store: the bottom layer, importing nothing. Not the
 * generated proto types: only src/rpc/convert.ts maps between the two.
 */
export type * from "./types.js";
