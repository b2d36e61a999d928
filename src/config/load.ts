import { readFile } from "node:fs/promises";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { CONFIG_KEYS, type Config, ConfigError, parseSetting, SETTINGS, validateConfig } from "./config.js";
import { fromOhpqForm, isOhpqForm } from "./ohpq-form.js";

/** What the command line asked for, before the config file is read. */
export interface ParsedFlags {
  /** `--config FILE`, if given. */
  configFile: string | undefined;
  /** `--help` or `-h`. */
  help: boolean;
  /** The settings given as flags, parsed and checked. */
  settings: Partial<Config>;
}

const flagName = (key: keyof Config) => SETTINGS[key].flag.slice(2);

/**
 * Parses `switchyard serve` flags (`--port 7440` or `--port=7440`). Unknown flags, missing
 * values, stray arguments and bad values throw {@link ConfigError} naming the flag.
 */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const key of CONFIG_KEYS) {
    if (!SETTINGS[key].fileOnly) options[flagName(key)] = { type: SETTINGS[key].switch ? "boolean" : "string" };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message = e instanceof Error ? e.message : String(e);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new ConfigError(`unknown flag ${flag} (see switchyard serve --help)`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const arg = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new ConfigError(`unexpected argument ${arg} (see switchyard serve --help)`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? message;
      throw new ConfigError(`flag ${flag} needs a value (see switchyard serve --help)`);
    }
    throw new ConfigError(message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const settings: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (SETTINGS[key].fileOnly) continue;
    const raw = values[flagName(key)];
    if (raw !== undefined) settings[key] = parseSetting(key, raw, SETTINGS[key].flag);
  }
  const configFile = values.config;
  if (configFile === "") throw new ConfigError("flag --config needs a file name");
  return { configFile: configFile as string | undefined, help: values.help === true, settings };
}

const KEY_BY_NAME = new Map<string, keyof Config>(
  CONFIG_KEYS.flatMap((key) => [
    [key, key],
    [flagName(key), key],
  ]),
);

/** Settings whose relative paths are resolved against the config file's directory. */
const PATH_KEYS = ["dataDir", "tlsCert", "tlsKey"] as const;

/**
 * Reads a config file: JSON (`.json`) or YAML (anything else; YAML is a superset of JSON).
 * Keys are the {@link Config} field names (`dataDir`) or the flag names (`data-dir`). An
 * unchanged Oh-Please-Queue config file (README "Oh, Please Queue" bridge) is accepted too and mapped (see
 * ohpq-form.ts). Relative paths (`dataDir`, `tlsCert`, `tlsKey`) are resolved against the file's
 * directory. What the server should log about the file (keys accepted but unused) is pushed to
 * `notes`.
 */
export async function readConfigFile(file: string, notes: string[] = []): Promise<Partial<Config>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    throw new ConfigError(`cannot read config file ${file}: ${code}`);
  }
  let doc: unknown;
  const json = extname(file).toLowerCase() === ".json";
  try {
    doc = json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid ${json ? "JSON" : "YAML"}${syntaxErrorPlace(text, e)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(`config file ${file} must hold a mapping of settings`);
  }
  const out: Record<string, unknown> = {};
  /** [setting name, value, the key as the file wrote it] */
  let entries: [string, unknown, string][] = Object.entries(doc).map(([k, v]) => [k, v, k]);
  if (isOhpqForm(doc as Record<string, unknown>)) {
    const mapped = fromOhpqForm(doc as Record<string, unknown>, `config file ${file}`);
    notes.push(...mapped.notes);
    entries = mapped.entries;
  }
  for (const [name, raw, written] of entries) {
    const key = KEY_BY_NAME.get(name);
    if (!key) throw new ConfigError(`config file ${file}: unknown setting "${written}"`);
    if (key in out) throw new ConfigError(`config file ${file}: "${written}" sets ${name}, which is set twice`);
    out[key] = parseSetting(key, raw, `config file ${file}: ${written}`);
  }
  for (const key of PATH_KEYS) {
    const path = out[key];
    if (typeof path === "string" && !isAbsolute(path)) out[key] = resolve(dirname(file), path);
  }
  return out;
}

/**
 * Where a config file fails to parse, without any of its text: the parsers quote the line (or,
 * for JSON, a stretch of it) around the error, and that may be a password. YAML errors give their
 * line and column and the first line of their message (which names what is wrong, not the text);
 * a JSON file is located by reading it as YAML, its superset, when that fails too.
 */
function syntaxErrorPlace(text: string, error: unknown): string {
  let e = error;
  if (!(e instanceof YAMLParseError)) {
    try {
      parseYaml(text);
    } catch (yamlError) {
      e = yamlError;
    }
  }
  if (!(e instanceof YAMLParseError)) return "";
  const what = (e.message.split("\n", 1)[0] as string).replace(/ at line \d+, column \d+:?$/, "");
  const at = e.linePos?.[0];
  return at ? ` at line ${at.line}, column ${at.col}${error === e ? ` (${what})` : ""}` : "";
}

/** The result of {@link loadConfig}. */
export interface LoadedConfig {
  config: Config;
  /** True when `--help` was given (the config is then the defaults plus whatever parsed). */
  help: boolean;
  /** What the server should log about the config file (e.g. Oh-Please-Queue keys it does not use). */
  notes: string[];
}

/**
 * Builds the effective config from `switchyard serve` flags: defaults < config file < flags.
 * Fails fast with a {@link ConfigError} on any bad value.
 */
export async function loadConfig(argv: readonly string[]): Promise<LoadedConfig> {
  const flags = parseFlags(argv);
  if (flags.help) return { config: validateConfig(flags.settings), help: true, notes: [] };
  const notes: string[] = [];
  const fromFile = flags.configFile ? await readConfigFile(flags.configFile, notes) : {};
  return { config: validateConfig({ ...fromFile, ...flags.settings }), help: false, notes };
}
