import { ConfigError } from "./config.js";

/**
 * The Oh-Please-Queue config file (README "Oh, Please Queue" bridge), accepted unchanged:
 *
 * | ohpq key             | Switchyard setting                                       |
 * | -------------------- | -------------------------------------------------------- |
 * | `broker_id`          | `ohpqBrokerId` (the ohpq `/status` page)                 |
 * | `port`               | `ohpqPort` (the text TCP port; not the RPC port!)        |
 * | `http_port`          | `ohpqHttpPort`                                           |
 * | `savequeuepath`      | `dataDir`                                                |
 * | `users`              | `users` (`username`, `password`, `role`, `allowed_queues`) |
 * | `peers`              | checked, logged as unused (replication is the store's job) |
 * | `enable_persistence` | checked; Switchyard always stores durably (`false` is logged) |
 *
 * Other keys of the file are read as Switchyard settings.
 */
const ONLY_OHPQ = ["broker_id", "http_port", "savequeuepath", "peers", "enable_persistence"];

/** True when a config document is in the Oh-Please-Queue form. */
export function isOhpqForm(doc: Record<string, unknown>): boolean {
  if (ONLY_OHPQ.some((k) => k in doc)) return true;
  const users = doc.users;
  return Array.isArray(users) && users.some((u) => u !== null && typeof u === "object" && "username" in u);
}

/** The ohpq keys mapped to Switchyard setting names, plus what to log about the unused ones. */
export function fromOhpqForm(
  doc: Record<string, unknown>,
  where: string,
): { entries: [string, unknown, string][]; notes: string[] } {
  const notes: string[] = [];
  /** [Switchyard setting, value, the ohpq key (for messages)] */
  const entries: [string, unknown, string][] = [];
  for (const [key, raw] of Object.entries(doc)) {
    switch (key) {
      case "broker_id":
        entries.push(["ohpqBrokerId", typeof raw === "number" ? String(raw) : raw, key]);
        break;
      case "port":
        entries.push(["ohpqPort", raw, key]);
        break;
      case "http_port":
        entries.push(["ohpqHttpPort", raw, key]);
        break;
      case "savequeuepath":
        entries.push(["dataDir", raw, key]);
        break;
      case "peers": {
        if (!Array.isArray(raw) || raw.some((p) => typeof p !== "string")) {
          throw new ConfigError(`invalid ${where}: peers: expected a list of "host:port" strings`);
        }
        if (raw.length > 0) {
          notes.push(
            `${where}: peers ${raw.join(", ")} are not used (replication is the job of a clustered store, not of the ohpq bridge)`,
          );
        }
        break;
      }
      case "enable_persistence":
        if (typeof raw !== "boolean")
          throw new ConfigError(`invalid ${where}: enable_persistence: expected true or false`);
        if (!raw)
          notes.push(`${where}: enable_persistence false is ignored: Switchyard always stores messages durably`);
        break;
      default:
        entries.push([key, raw, key]);
    }
  }
  return { entries, notes };
}
