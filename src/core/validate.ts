import { BrokerError, invalidArgument } from "../errors/index.js";
import type { NewMessage } from "../model/index.js";
import type { BrokerLimits } from "./limits.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Topic, subscription and snapshot names: 1–255 bytes of UTF-8 without control characters. */
export function validateName(kind: "topic" | "subscription" | "snapshot" | "dead_letter_topic", name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) throw new BrokerError("INVALID_NAME", `${kind} name is empty`, { metadata: { field: kind } });
  if (bytes > 255) {
    throw new BrokerError("INVALID_NAME", `${kind} name is ${bytes} bytes; the limit is 255`, {
      metadata: { field: kind },
    });
  }
  if (CONTROL.test(name) || name.includes("\ufffd")) {
    throw new BrokerError("INVALID_NAME", `${kind} name contains a control character or invalid UTF-8`, {
      metadata: { field: kind },
    });
  }
}

/** Checks an integer option against [min, max]. */
export function validateRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`${field} must be between ${min} and ${max}, got ${value}`, field);
  }
}

/** Longest delay or TTL a message may ask for: one year. */
const MAX_MESSAGE_TIME_MS = 365 * 24 * 3600 * 1000;

/**
 * Validates a publish batch against the limits and returns its size for limits (the sum of
 * {@link messageSize}). This runs for every published message, so it allocates nothing per
 * message and skips the UTF-8 and control-character checks of empty strings; the checks and their
 * order (the first failing one is reported) are those of the API.
 */
export function validatePublish(messages: readonly NewMessage[], limits: BrokerLimits): number {
  if (messages.length === 0) throw invalidArgument("a publish needs at least one message", "messages");
  if (messages.length > limits.maxBatchMessages) {
    throw new BrokerError(
      "BATCH_TOO_LARGE",
      `a publish carries at most ${limits.maxBatchMessages} messages, got ${messages.length}`,
      { metadata: { limit: String(limits.maxBatchMessages) } },
    );
  }
  let total = 0;
  for (let i = 0; i < messages.length; i++) total += validateMessage(messages[i] as NewMessage, i, limits);
  if (total > limits.maxBatchBytes) {
    throw new BrokerError("BATCH_TOO_LARGE", `the publish is ${total} bytes; the limit is ${limits.maxBatchBytes}`, {
      metadata: { limit: String(limits.maxBatchBytes) },
    });
  }
  return total;
}

/** Validates message `i` of a publish; returns its size for limits ({@link messageSize}). */
function validateMessage(m: NewMessage, i: number, limits: BrokerLimits): number {
  const size = messageSize(m);
  if (size > limits.maxMessageBytes) {
    throw new BrokerError(
      "PAYLOAD_TOO_LARGE",
      `message ${i} is ${size} bytes; the limit is ${limits.maxMessageBytes}`,
      {
        metadata: { index: String(i), limit: String(limits.maxMessageBytes) },
      },
    );
  }
  const priority = m.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
    throw invalidArgument(`message ${i}: priority must be 0..9, got ${priority}`, "priority");
  }
  if (m.id) validateIdField(i, "id", m.id, limits);
  if (m.orderingKey) validateIdField(i, "ordering_key", m.orderingKey, limits);
  let attributes = 0;
  let emptyKey = false;
  for (const key in m.attributes) {
    if (!Object.hasOwn(m.attributes, key)) continue;
    attributes++;
    if (key.length === 0) emptyKey = true;
  }
  if (attributes > limits.maxAttributes) {
    throw invalidArgument(`message ${i}: more than ${limits.maxAttributes} attributes`, "attributes");
  }
  if (emptyKey) throw invalidArgument(`message ${i}: empty attribute key`, "attributes");
  // Absent and 0 pass; anything else (NaN and negatives included) goes through the range check.
  if (m.delayMs !== undefined && m.delayMs !== 0) validateRange("delay_ms", m.delayMs, 0, MAX_MESSAGE_TIME_MS);
  if (m.ttlMs !== undefined && m.ttlMs !== 0) validateRange("ttl_ms", m.ttlMs, 0, MAX_MESSAGE_TIME_MS);
  return size;
}

/** A message's id or ordering key: at most `maxIdBytes` of UTF-8, no control characters. */
function validateIdField(i: number, field: "id" | "ordering_key", value: string, limits: BrokerLimits): void {
  if (Buffer.byteLength(value) > limits.maxIdBytes) {
    throw invalidArgument(`message ${i}: ${field} is longer than ${limits.maxIdBytes} bytes`, field);
  }
  if (CONTROL.test(value)) throw invalidArgument(`message ${i}: ${field} contains a control character`, field);
}

/** Size of a message for limits: data plus attribute keys and values. */
export function messageSize(m: NewMessage): number {
  let size = m.data.length;
  const attributes = m.attributes;
  for (const k in attributes) {
    if (Object.hasOwn(attributes, k)) size += Buffer.byteLength(k) + Buffer.byteLength(attributes[k] as string);
  }
  return size;
}
