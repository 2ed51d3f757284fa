// Reconnect pacing: exponential backoff with full jitter (as coreMQTT's backoffAlgorithm), after
// a floor so that two CONNECTs for one client id are never closer than the spacing AWS allows.
// Pure: the random number and the times come from the caller.

import type { DeviceConfig } from "../config/config.js";

/** The device config's own fields; `connectSpacingMs` is the minimum time between the starts of two attempts. */
export type BackoffParams = Pick<DeviceConfig, "backoffBaseMs" | "backoffCapMs" | "connectSpacingMs">;

/**
 * How long to wait from `now` before retry number `attempt` (0 for the first retry): until
 * `connectSpacingMs` after the previous attempt (`lastAttemptAt`, undefined if none), then the
 * jitter, uniform in [0, min(cap, base * 2^attempt)) for `random` in [0, 1). The jitter comes
 * after the spacing, not inside it: devices dropped together (an endpoint restart, a throttled
 * wave) then spread over the jitter window instead of all retrying when the spacing ends.
 * Never fails.
 */
export function nextAttemptDelay(
  attempt: number,
  random: number,
  now: number,
  lastAttemptAt: number | undefined,
  params: BackoffParams,
): number {
  // base * 2^attempt overflows to Infinity for a large attempt, which the cap clamps (the
  // config holds the base to at least 1 ms, so the product is never NaN).
  return Math.max(lastAttemptAt === undefined ? 0 : lastAttemptAt + params.connectSpacingMs - now, 0)
    + Math.floor(random * Math.min(params.backoffCapMs, params.backoffBaseMs * 2 ** attempt));
}
