// What to do after a connection attempt or a session ends: retry (and why, and when) or stop
// with a status a person can act on. Pure but for the state it updates: time and randomness
// are passed in.
//
// A fresh JITP/JITR certificate is dropped on its first connect(s) while AWS provisions it: the
// TLS session is reset, or the MQTT connection is closed before or right after CONNACK. Those
// are "still provisioning" until the device has once been accepted (then it remembers that it
// is provisioned). Other failures will never heal by retrying: say so instead of looping.

import type { DeviceState } from "../boot/status.js";
import type { DeviceConfig } from "../config/config.js";
import type { Failure } from "../platform/failure.js";
import { nextAttemptDelay } from "./backoff.js";
// JITP/JITR (jit.ts): the certificate modes' builds map it there, the others to jit-none.ts.
import { certificateAlertAdvice, NOT_PROVISIONED_ADVICE } from "./jit.js";

export type FailureClass = "provisioning" | "network" | "permanent";

/** The device config's own fields (their meaning is documented there). */
export type PolicyParams = Pick<DeviceConfig, "backoffBaseMs" | "backoffCapMs" | "connectSpacingMs" | "provisioningAttempts"
  | "provisioningGraceMs" | "reconnectAttempts" | "stableSessionMs" | "takeoverThreshold">;

/** What the policy keeps between attempts; decide() and attemptStarted() update it in place. */
export interface LoopState {
  provisioned: boolean;
  /** Attempts since the last stable session: drives the backoff exponent and the limit. */
  failures: number;
  firstAttemptAt?: number;
  /** Accepted sessions in a row that the server closed before they became stable. */
  shortSessions: number;
  /** Another connection keeps taking this client id over (reported once, cleared by a stable session). */
  takeover?: boolean;
}

export function initialState(provisioned: boolean): LoopState {
  return { provisioned, failures: 0, shortSessions: 0 };
}

/**
 * After an attempt ended: retry after `delayMs`, or stop when it is undefined. `status` (with
 * `code`) is the status to report, if any: none for the retries of a takeover already reported.
 * `message` says what follows from the ending (the fix when it stops), for the log and status.
 */
export interface Decision {
  status?: DeviceState;
  code?: string;
  message: string;
  delayMs?: number;
}

// The transport's and the MQTT client's drops that JITP/JITR causes on a certificate it is still
// provisioning (firmware/platform/seam.ts TransportFailureCode): "provisioning" until the device
// has once been accepted, then worth retrying. A list, not a regular expression: XS compiles a
// module's regular expressions into the chunk heap when the module loads, and the two this module
// and jit.ts had cost about 4 KB of it (measured with `npm run sim -- --memory`).
const DROPPED = ["tls-handshake-reset", "connection-reset", "connection-closed", "mqtt-closed-before-connack", "mqtt-connack-timeout"];

/**
 * Sorts a failure into "provisioning" (a drop that JITP/JITR causes on a device not yet
 * provisioned), "network" (worth retrying) or "permanent", by its code: the drops above; TLS
 * alerts about the client certificate (in a build with JITP/JITR) mean "provisioning" within the
 * grace time on a device not yet provisioned; every other TLS failure (an untrusted or misnamed
 * server, a refused ALPN, a TLS stack that will not start, an alert) is permanent whatever its
 * `retryable`; any other code by its `retryable`. An undefined failure is an orderly close by
 * the server. Never fails.
 */
export function classify(failure: Failure | undefined, provisioned: boolean, withinGrace: boolean): FailureClass {
  const code = failure?.code ?? "connection-closed";
  return DROPPED.includes(code) || !provisioned && withinGrace && certificateAlertAdvice?.(code, provisioned)
    ? provisioned ? "network" : "provisioning"
    : code.startsWith("tls-") || !failure!.retryable ? "permanent" : "network";
}

/**
 * Decides, and updates `state`, after an attempt or session ends at `now` with `failure`
 * (undefined: closed by the server); `sessionMs` is how long the session lasted, undefined if it
 * was never accepted. Stops with status "refused" for a permanent failure, "gave-up" when the
 * configured attempt limit is reached; otherwise retries after a delay. Never fails.
 */
export function decide(state: LoopState, failure: Failure | undefined, sessionMs: number | undefined, now: number, random: number, params: PolicyParams): Decision {
  const { provisioned } = state;
  let retry = state.failures;
  if ((sessionMs ?? -1) >= params.stableSessionMs) {
    retry = state.failures = state.shortSessions = 0;
    state.firstAttemptAt = undefined;
    state.takeover = false;
  } else {
    state.failures += 1;
    if (sessionMs !== undefined) state.shortSessions += 1;
  }
  const { failures, shortSessions, takeover } = state;
  const since = now - (state.firstAttemptAt ?? now);
  const why = classify(failure, provisioned, since < params.provisioningGraceMs);
  const limit = provisioned ? params.reconnectAttempts : params.provisioningAttempts;
  let status: DeviceState | undefined = "refused";
  let code = failure?.code;
  let message: string;
  let delayMs: number | undefined;
  if (why === "permanent") {
    // An orderly close (no failure) is never permanent (classify), so a failure is at hand.
    // Its message names the fix; the policy adds what only it knows.
    const advice = certificateAlertAdvice?.(code!, provisioned)
      ?? (/^connack-(not-authorized|bad-credentials)$/.test(code!) ? "check its policy allows iot:Connect for this client id" : "");
    code = "connect-refused";
    message = `refused for good (${failure!.message})${advice && "; " + advice}`;
  } else if (limit && failures >= limit) {
    status = "gave-up";
    code = provisioned ? "reconnect-limit" : "provisioning-timeout";
    message = `gave up after ${failures} attempts over ${Math.round(since / 1000)} s: ${provisioned ? "check the network and endpoint, then restart" : NOT_PROVISIONED_ADVICE}`;
  } else {
    // The spacing counts from the end of the attempt, which is after its CONNECT went out: two
    // CONNECTs are then never closer than the spacing, however long each TLS handshake took.
    delayMs = nextAttemptDelay(retry, random, now, now, params);
    status = why === "network" ? "reconnecting" : why;
    message = why === "network" ? why : "still provisioning";
    if (takeover || provisioned && shortSessions >= params.takeoverThreshold) {
      // Once another connection keeps taking this client id over, every retry would kick it off in
      // turn: wait the full cap (the other side's own backoff then gets a chance to settle).
      delayMs = Math.max(delayMs, params.backoffCapMs);
      status = takeover ? undefined : "takeover";
      code = "client-id-takeover";
      message = takeover ? "takeover" : `client id taken over (${shortSessions} short sessions): check no other device uses this certificate or client id`;
      state.takeover = true;
    }
    message += `; next attempt in ${delayMs} ms`;
  }
  return { status, code, message, delayMs };
}

/** Records the start of an attempt at `now`. */
export function attemptStarted(state: LoopState, now: number): void {
  state.firstAttemptAt ??= now;
}
