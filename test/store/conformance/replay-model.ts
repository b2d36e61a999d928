import type { StoreFactory } from "./helpers.js";
export function replayModelCases(_factory: StoreFactory): void {}
