/**
 * Durability of store writes. `flush` (default): a write resolves after its transaction is
 * committed and synced to disk. `commit`: after commit (survives a process crash, not an OS
 * crash). `none`: no sync (fastest; not durable).
 */
export type Durability = "flush" | "commit" | "none";
