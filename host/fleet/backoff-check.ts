// Each device's CONNECT attempts against the firmware's own backoff: the device's record of its
// attempts (from its connection loop's log lines: when each started and ended, how, and whether
// it counted itself provisioned) is replayed through the firmware's policy (decide(), which
// calls backoff.ts's nextAttemptDelay) with the smallest random number, 0. That gives, for every
// retry, the shortest wait the backoff allows after that attempt's ending, with the attempt
// counter as the device keeps it (reset after a stable session, the takeover wait, the
// provisioning limits). A retry is too early when it started sooner after the previous attempt
// ended than that. Pure: the records and the config come in, the figures come out.

import { defaultConfig, type DeviceConfig } from "../../firmware/config/config.js";
import { attemptStarted, decide, initialState, type LoopState, type PolicyParams } from "../../firmware/provisioning/policy.js";

/** One CONNECT attempt as the device recorded it (host epoch ms). */
export interface AttemptRecord {
  /** the device's own attempt number (counts every attempt since boot) */
  n: number;
  startedAt: number;
  /** whether the device counted itself provisioned when the attempt started */
  provisioned: boolean;
  /** when it ended (undefined: still going at the end of the run) */
  endedAt?: number;
  /** the failure code it ended with (undefined: closed by the server) */
  code?: string;
  accepted?: boolean;
  sessionMs?: number;
}

export interface BackoffViolation {
  thing: string;
  attempt: number;
  /** from the previous attempt's start to this one's */
  intervalMs: number;
  /** the previous attempt's duration plus the shortest wait the backoff allows after it; null when the policy said stop, or the previous attempt had not ended */
  boundMs: number | null;
}

export interface BackoffCheck {
  /** devices whose attempts were checked (those running under Node: their log lines carry exact times) */
  devices: number;
  /** retries checked (every attempt after a device's first) */
  retries: number;
  violations: BackoffViolation[];
  /** the smallest (interval - bound) over every retry */
  smallestMarginMs?: number;
}

/** The policy's fields of a device config: the firmware's defaults where the config leaves them out. */
export function policyParams(config: Record<string, unknown>): PolicyParams {
  const full = { ...defaultConfig, ...config } as DeviceConfig;
  const { backoffBaseMs, backoffCapMs, connectSpacingMs, provisioningAttempts, provisioningGraceMs, reconnectAttempts, stableSessionMs, takeoverThreshold } = full;
  return { backoffBaseMs, backoffCapMs, connectSpacingMs, provisioningAttempts, provisioningGraceMs, reconnectAttempts, stableSessionMs, takeoverThreshold };
}

/** Checks every device's retries against the backoff `params` allow. */
export function checkBackoff(devices: { thing: string; attempts: AttemptRecord[] }[], params: PolicyParams): BackoffCheck {
  const violations: BackoffViolation[] = [];
  let retries = 0;
  let smallest: number | undefined;
  for (const { thing, attempts } of devices) {
    let state: LoopState | undefined;
    for (const [i, attempt] of attempts.entries()) {
      state ??= initialState(attempt.provisioned);
      if (i > 0) {
        const previous = attempts[i - 1];
        retries += 1;
        const intervalMs = attempt.startedAt - previous.startedAt;
        // The replay of the previous attempt's ending (it updates `state` as the device's loop
        // does): the wait the backoff allows at the least. Provisioned during the previous
        // attempt (its first SUBACK) shows at this attempt's start.
        state.provisioned = attempt.provisioned;
        const delayMs = previous.endedAt === undefined ? undefined
          : decide(state, previous.code === undefined ? undefined : { code: previous.code, message: "", retryable: true }, previous.accepted ? previous.sessionMs ?? 0 : undefined, previous.endedAt, 0, params).delayMs;
        const boundMs = delayMs === undefined ? null : previous.endedAt! - previous.startedAt + delayMs;
        const margin = boundMs === null ? -Infinity : intervalMs - boundMs;
        if (boundMs !== null) smallest = smallest === undefined ? margin : Math.min(smallest, margin);
        if (margin < 0) violations.push({ thing, attempt: attempt.n, intervalMs, boundMs });
      }
      attemptStarted(state, attempt.startedAt);
    }
  }
  return { devices: devices.length, retries, violations, ...(smallest !== undefined ? { smallestMarginMs: smallest } : {}) };
}

/**
 * Adds a device's connection-loop log line (firmware/provisioning/loop.ts: info, or warn for a stop) seen at
 * `at` to its attempt record; other lines are ignored.
 */
export function recordAttemptLine(attempts: AttemptRecord[], line: string, at: number): void {
  let m = /^connect: attempt (\d+) to .* \((provisioned|not provisioned yet)\)$/.exec(line);
  if (m) {
    attempts.push({ n: Number(m[1]), startedAt: at, provisioned: m[2] === "provisioned" });
    return;
  }
  const last = attempts.at(-1);
  if (!last) return;
  if ((m = /^connect: attempt (\d+) ended \((.+?)(?: after (\d+) ms)?\): /.exec(line)) && Number(m[1]) === last.n) {
    Object.assign(last, { endedAt: at, accepted: m[3] !== undefined, sessionMs: m[3] === undefined ? 0 : Number(m[3]) });
    if (m[2] !== "closed by the server") last.code = m[2];
  }
}
