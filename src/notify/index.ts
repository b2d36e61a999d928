export { createLocalNotifier, type Notifier } from "./notifier.js";
