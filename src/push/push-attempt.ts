/**
 * One push attempt, from the message to a verdict: build the request (raw, wrapped or form,
 * README "Push subscriptions (webhooks)"), send it, and judge the answer (`only_server_errors_fail`,
 * `any_response_is_success`). Settling the lease is the flight's business (flight.ts).
 *
 * @module
 */
import { type Delivery, MAX_NACK_ERROR_BYTES, type PushSettings } from "../core/index.js";
import { buildFormRequest, UndeliverableError } from "./form-request.js";
import { buildPushRequest } from "./request.js";
import type { PushSender } from "./sender.js";

/**
 * Whether an HTTP answer counts as delivered: 2xx; with `onlyServerErrorsFail` anything below
 * 500; with `anyResponseIsSuccess` any answer at all (the legacy OPQ rule).
 */
export function isSuccess(push: PushSettings, status: number): boolean {
  if (push.anyResponseIsSuccess) return true;
  if (push.onlyServerErrorsFail) return status < 500;
  return status >= 200 && status < 300;
}

/** The first `maxBytes` bytes of `text` as UTF-8, cut at a character boundary. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  return bytes
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
}

/** How one attempt ended. */
export type AttemptResult =
  /** Sent: answered (`status` > 0) or not (network error, timeout: `status` 0); `error` is empty on success. */
  | { kind: "sent"; ok: boolean; status: number; error: string }
  /** Cut short because the worker is stopping: the lease goes back, nothing is counted. */
  | { kind: "stopped" }
  /** Can never be sent as it is (a form push without a usable target); `error` fits a nack. */
  | { kind: "undeliverable"; error: string };

/** What {@link attemptPush} needs. */
export interface AttemptInput {
  /** The subscription's name (a request header). */
  subscription: string;
  /** Its push settings as they are now. */
  push: PushSettings;
  /** The leased message. */
  delivery: Delivery;
  /** Sends the request. */
  sender: PushSender;
  /** Hosts a form push may target (`--push-allowed-hosts`). */
  allowedHosts: readonly string[];
  /** Aborts the request. */
  signal: AbortSignal;
  /** Whether the abort came from a stop (asked when the request fails). */
  stopped: () => boolean;
}

/** Builds and sends one request and judges its answer. Never throws. */
export async function attemptPush(input: AttemptInput): Promise<AttemptResult> {
  const { push, delivery } = input;
  try {
    const request = push.form
      ? buildFormRequest(push, delivery, input.allowedHosts)
      : buildPushRequest(input.subscription, push, delivery);
    const status = (await input.sender.send(request, { timeoutMs: push.timeoutMs, signal: input.signal })).status;
    const ok = isSuccess(push, status);
    return { kind: "sent", ok, status, error: ok ? "" : `HTTP ${status}` };
  } catch (e) {
    if (input.stopped()) return { kind: "stopped" };
    if (e instanceof UndeliverableError) {
      return { kind: "undeliverable", error: truncateUtf8(e.message, MAX_NACK_ERROR_BYTES) };
    }
    return { kind: "sent", ok: false, status: 0, error: e instanceof Error ? e.message : String(e) };
  }
}
