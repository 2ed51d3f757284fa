// Reconnect pacing: exponential backoff with full jitter (as coreMQTT's backoffAlgorithm), after
// a floor so that two CONNECTs for one client id are never closer than the spacing AWS allows.
// Pure: the random number and the times come from the caller.

import type { DeviceConfig } from "../config/config.js";

/** The device config's own fields; `connectSpacingMs` is the minimum time between the starts of two attempts. */
export type BackoffParams = Pick<DeviceConfig, "backoffBaseMs" | "backoffCapMs" | "connectSpacingMs">;

/**
 * The jittered delay before retry number `attempt` (0 for the first retry):
 * uniform in [0, min(cap, base * 2^attempt)). `random` is in [0, 1). Never fails.
 */
export function jitteredDelay(attempt: number, random: number, params: Pick<BackoffParams, "backoffBaseMs" | "backoffCapMs">): number {
  // 2^attempt grows past the cap quickly; clamp the exponent so the product stays finite.
  const ceiling = Math.min(params.backoffCapMs, params.backoffBaseMs * 2 ** Math.min(attempt, 40));
  return Math.floor(random * ceiling);
}

/**
 * How long to wait from `now` before the next attempt: until `connectSpacingMs` after the
 * previous attempt (`lastAttemptAt`, undefined if none), then the jittered delay. The jitter
 * comes after the spacing, not inside it: devices dropped together (an endpoint restart, a
 * throttled wave) then spread over the jitter window instead of all retrying when the spacing
 * ends. Never fails.
 */
export function nextAttemptDelay(
  attempt: number,
  random: number,
  now: number,
  lastAttemptAt: number | undefined,
  params: BackoffParams,
): number {
  const jitter = jitteredDelay(attempt, random, params);
  const spacing = lastAttemptAt === undefined ? 0 : lastAttemptAt + params.connectSpacingMs - now;
  return Math.max(spacing, 0) + jitter;
}
