// Reconnect pacing: exponential backoff with full jitter (as coreMQTT's backoffAlgorithm), and
// a floor so that two CONNECTs for one client id are never closer than the spacing AWS allows.
// Pure: the random number and the times come from the caller.

export interface BackoffParams {
  baseMs: number;
  capMs: number;
  /** Minimum time between the starts of two connection attempts. */
  spacingMs: number;
}

/**
 * The jittered delay before retry number `attempt` (0 for the first retry):
 * uniform in [0, min(cap, base * 2^attempt)). `random` is in [0, 1). Never fails.
 */
export function jitteredDelay(attempt: number, random: number, params: Pick<BackoffParams, "baseMs" | "capMs">): number {
  // 2^attempt grows past the cap quickly; clamp the exponent so the product stays finite.
  const ceiling = Math.min(params.capMs, params.baseMs * 2 ** Math.min(attempt, 40));
  return Math.floor(random * ceiling);
}

/**
 * How long to wait from `now` before the next attempt: the jittered delay, but never earlier
 * than `spacingMs` after the previous attempt started (`lastAttemptAt`, undefined if none).
 * Never fails.
 */
export function nextAttemptDelay(
  attempt: number,
  random: number,
  now: number,
  lastAttemptAt: number | undefined,
  params: BackoffParams,
): number {
  const jitter = jitteredDelay(attempt, random, params);
  const spacing = lastAttemptAt === undefined ? 0 : lastAttemptAt + params.spacingMs - now;
  return Math.max(jitter, spacing, 0);
}
