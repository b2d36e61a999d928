export {
  CONFIG_KEYS,
  type Config,
  ConfigError,
  DEFAULT_CONFIG,
  LISTENER_PORTS,
  type PortSetting,
  parseSetting,
  SETTINGS,
  validateConfig,
} from "./config.js";
export { type LoadedConfig, loadConfig, type ParsedFlags, parseFlags, readConfigFile } from "./load.js";
